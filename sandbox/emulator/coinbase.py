"""coinbase: v2 currencies, exchange rates and accounts; v3 products, fee tier and accounts.

Only legacy HMAC keys (CB-ACCESS-KEY/SIGN/TIMESTAMP) are checked; CDP JWT keys are refused as an
unknown key would be.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    hmac_hex,
    json_reply,
    same,
    text_reply,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, fmt, split_symbol

NAME = "coinbase"
FIATS = frozenset({"USD", "EUR", "GBP", "CAD", "SGD"})
CREATED = "2024-01-01T00:00:00Z"


def unauthorized(request: Request, message: str) -> Reply:
    # v3 (Advanced Trade) answers a bare 401; v2 a JSON error list.
    if request.path.startswith("/api/v3/"):
        return text_reply("Unauthorized\n", 401)
    return json_reply({"errors": [{"id": "authentication_error", "message": message}]}, 401)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("CB-ACCESS-KEY"))
    if account is None or account.revoked:
        return unauthorized(request, "invalid api key")
    if not same(signature(account.secret, request), request.header("CB-ACCESS-SIGN")):
        return unauthorized(request, "invalid signature")
    return account


def signature(secret: str, request: Request) -> str:
    """hex HMAC-SHA256 of timestamp + method + path (+ ?query on v2 GETs) + body."""
    query = ""
    if request.raw_query and not request.path.startswith("/api/v3/"):
        query = f"?{request.raw_query}"
    prehash = request.header("CB-ACCESS-TIMESTAMP") + request.method + request.path + query
    return hmac_hex(secret, prehash + request.text)


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("coinbase", *parts))))


def fiat_currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [{"id": c, "name": c, "min_size": "0.01"} for c in scenario.codes(NAME) if c in FIATS]
    return json_reply({"data": rows})


def crypto_currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [
        {"asset_id": stable_id("asset", c), "code": c, "name": c, "color": "#000000",
         "sort_index": i, "exponent": 8, "type": "crypto", "address_regex": ".*"}
        for i, c in enumerate(scenario.codes(NAME)) if c not in FIATS
    ]  # fmt: skip
    return json_reply({"data": rows})


def exchange_rates(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    """Units of each currency per 1 USD, from the X/USD prices."""
    rates = {"USD": "1"}
    for symbol, price in scenario.symbols(NAME).items():
        base, quote = split_symbol(symbol)
        if quote == "USD" and price:
            rates[base] = fmt((Decimal(1) / price).normalize())
    return json_reply({"data": {"currency": "USD", "rates": rates}})


def product(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "product_id": f"{base}-{quote}", "price": price, "price_percentage_change_24h": "0",
        "volume_24h": "1000", "volume_percentage_change_24h": "0",
        "base_increment": "0.00000001", "quote_increment": "0.00000001",
        "price_increment": "0.00000001", "quote_min_size": "1", "quote_max_size": "10000000",
        "base_min_size": "0.00000001", "base_max_size": "100000", "base_name": base,
        "quote_name": quote, "watched": False, "is_disabled": False, "new": False,
        "status": "online", "cancel_only": False, "limit_only": False, "post_only": False,
        "trading_disabled": False, "auction_mode": False, "product_type": "SPOT",
        "quote_currency_id": quote, "base_currency_id": base,
        "fcm_trading_session_details": None, "mid_market_price": "", "alias": "",
        "alias_to": [], "base_display_symbol": base, "quote_display_symbol": quote,
        "view_only": False,
    }  # fmt: skip


def products(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = []
    if request.query.get("product_type", "SPOT") == "SPOT":
        rows = [product(s, fmt(p)) for s, p in scenario.symbols(NAME).items()]
    wanted = request.query_all("product_ids")
    if wanted:
        rows = [r for r in rows if r["product_id"] in wanted]
    return json_reply({"products": rows, "num_products": len(rows)})


def transaction_summary(request: Request, scenario: Scenario, _: Account) -> Reply:
    tier = {
        "pricing_tier": "Advanced 1", "usd_from": "0", "usd_to": "1000", "taker_fee_rate": "0.012",
        "maker_fee_rate": "0.006", "aop_from": "", "aop_to": "",
    }  # fmt: skip
    return json_reply(
        {"total_volume": 0, "total_fees": 0, "fee_tier": tier, "margin_rate": None,
         "goods_and_services_tax": None, "advanced_trade_only_volume": 0,
         "advanced_trade_only_fees": 0, "coinbase_pro_volume": 0, "coinbase_pro_fees": 0}
    )  # fmt: skip


def v2_account(account: Account, code: str, h: Holding) -> dict[str, Any]:
    account_id = stable_id(account.api_key, code)
    return {
        "id": account_id, "name": f"{code} Wallet", "primary": True,
        "type": "fiat" if code in FIATS else "wallet",
        "currency": {"asset_id": stable_id("asset", code), "code": code, "color": "#000000",
                     "exponent": "8", "name": code, "slug": code.lower(),
                     "type": "fiat" if code in FIATS else "crypto", "rewards": None},
        "balance": {"amount": fmt(h.total), "currency": code},
        "created_at": CREATED, "updated_at": CREATED, "resource": "account",
        "resource_path": f"/v2/accounts/{account_id}", "allow_deposits": True,
        "allow_withdrawals": True,
    }  # fmt: skip


V2_LIMITS = (1, 300)  # Coinbase's bounds on `limit`; its default is 25


def v2_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Paged as Coinbase pages: `limit` rows after the account id `starting_after`; while rows
    are left, pagination.next_starting_after names the last one sent (and next_uri with it)."""
    rows = [v2_account(account, c, h) for c, h in account.wallet("spot").items()]
    limit = min(max(int(request.query.get("limit") or 25), V2_LIMITS[0]), V2_LIMITS[1])
    after = request.query.get("starting_after")
    ids = [row["id"] for row in rows]
    if after and after not in ids:
        return json_reply({"errors": [{"id": "not_found", "message": "Not found"}]}, 404)
    start = ids.index(after) + 1 if after else 0
    page = rows[start : start + limit]
    following = page[-1]["id"] if page and start + limit < len(rows) else None
    pagination = {
        "ending_before": None, "limit": str(limit), "next_starting_after": following,
        "next_uri": f"/v2/accounts?limit={limit}&starting_after={following}" if following else None,
        "order": "desc", "previous_ending_before": None, "previous_uri": None,
        "starting_after": after,
    }  # fmt: skip
    return json_reply({"pagination": pagination, "data": page})


def v3_account(account: Account, code: str, h: Holding) -> dict[str, Any]:
    return {
        "uuid": stable_id(account.api_key, code), "name": f"{code} Wallet", "currency": code,
        "available_balance": {"value": fmt(h.free), "currency": code}, "default": True,
        "active": True, "created_at": CREATED, "updated_at": CREATED, "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if code in FIATS else "ACCOUNT_TYPE_CRYPTO",
        "ready": True, "hold": {"value": fmt(h.locked), "currency": code},
    }  # fmt: skip


def v3_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [v3_account(account, c, h) for c, h in account.wallet("spot").items()]
    return json_reply({"accounts": rows, "has_next": False, "cursor": "", "size": len(rows)})


def products_kind(request: Request) -> str:
    # ccxt's fetch_tickers asks for products by id; load_markets asks for all of them.
    return TICKER if request.query_all("product_ids") else MARKETS


ROUTES = {
    ("GET", "/v2/currencies"): Route(MARKETS, fiat_currencies),
    ("GET", "/v2/currencies/crypto"): Route(MARKETS, crypto_currencies),
    ("GET", "/v2/exchange-rates"): Route(MARKETS, exchange_rates),
    ("GET", "/api/v3/brokerage/market/products"): Route(MARKETS, products, classify=products_kind),
    ("GET", "/api/v3/brokerage/transaction_summary"): Route(
        MARKETS, transaction_summary, private=True
    ),
    ("GET", "/api/v3/brokerage/products"): Route(
        MARKETS, products, private=True, classify=products_kind
    ),
    ("GET", "/v2/accounts"): Route(BALANCE, v2_accounts, private=True),
    ("GET", "/api/v3/brokerage/accounts"): Route(BALANCE, v3_accounts, private=True),
}

SPEC = ExchangeSpec(NAME, "CB-ACCESS-KEY", ROUTES, authenticate)
