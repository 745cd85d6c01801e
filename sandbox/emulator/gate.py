"""gate v4 (classic account): spot, isolated margin, futures per settle, delivery, options, Uni
lending, on-chain staking, key info; currencies, currency pairs, tickers; the master key's
sub-accounts (listing, spot, isolated margin and perpetual futures balances by sub_uid)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl

from sandbox.emulator.common import (
    ACCOUNT,
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    hmac_digest,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import (
    ZERO,
    Account,
    Holding,
    Scenario,
    SubAccount,
    fmt,
    split_symbol,
)

EMPTY = Holding(free=ZERO)

NAME = "gate"
PREFIX = "/api/v4"
# The scenario's wallet per futures settle currency and delivery settle currency.
FUTURES_WALLETS = {"usdt": "futures_usdt", "btc": "futures_btc"}
DELIVERY_WALLETS = {"usdt": "delivery_usdt"}


def error(label: str, message: str, status: int = 400) -> Reply:
    return json_reply({"label": label, "message": message}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("KEY"))
    if account is None or account.revoked:
        return error("INVALID_KEY", "Invalid key provided", 401)
    if not same(signature(account.secret, request), request.header("SIGN")):
        return error("INVALID_SIGNATURE", "Signature mismatch", 401)
    return account


def signature(secret: str, request: Request) -> str:
    """hex HMAC-SHA512 of method, path, the query (not percent-encoded), the body's SHA-512 and
    the timestamp, one per line."""
    query = "&".join(f"{k}={v}" for k, v in parse_qsl(request.raw_query, keep_blank_values=True))
    body_hash = hashlib.sha512(request.body).hexdigest()
    payload = "\n".join(
        (request.method, request.path, query, body_hash, request.header("Timestamp"))
    )
    return hmac_digest(secret.encode(), payload.encode(), "sha512").hex()


def pair_id(symbol: str) -> str:
    base, quote = split_symbol(symbol)
    return f"{base}_{quote}"


def currency_entry(code: str) -> dict[str, Any]:
    chain = {"name": code, "addr": "", "withdraw_disabled": False, "withdraw_delayed": False,
             "deposit_disabled": False}  # fmt: skip
    return {
        "currency": code, "name": code, "delisted": False, "withdraw_disabled": False,
        "withdraw_delayed": False, "deposit_disabled": False, "trade_disabled": False,
        "fixed_rate": "", "chain": code, "chains": [chain],
    }  # fmt: skip


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([currency_entry(code) for code in scenario.codes(NAME)])


def pair_entry(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "id": pair_id(symbol), "base": base, "base_name": base, "quote": quote,
        "quote_name": quote, "fee": "0.2", "min_base_amount": "0.0001",
        "min_quote_amount": "1", "max_quote_amount": "5000000", "amount_precision": 6,
        "precision": 6, "trade_status": "tradable", "sell_start": 1607313600,
        "buy_start": 1607313600, "type": "normal", "trade_url": "",
    }  # fmt: skip


def currency_pairs(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([pair_entry(s) for s in scenario.symbols(NAME)])


def margin_pairs(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply(
        [
            {"id": pair_id(s), "base": split_symbol(s)[0], "quote": split_symbol(s)[1],
             "leverage": 10, "min_base_amount": "0.0001", "min_quote_amount": "1",
             "max_quote_amount": "5000000", "status": 1}
            for s in scenario.symbols(NAME)
        ]
    )  # fmt: skip


def ticker_entry(symbol: str, price: str) -> dict[str, Any]:
    return {
        "currency_pair": pair_id(symbol), "last": price, "lowest_ask": price,
        "lowest_size": "1", "highest_bid": price, "highest_size": "1",
        "change_percentage": "0", "change_utc0": "0", "change_utc8": "0",
        "base_volume": "1000", "quote_volume": "1000", "high_24h": price, "low_24h": price,
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    wanted = request.query.get("currency_pair")
    return json_reply(
        [
            ticker_entry(s, fmt(p))
            for s, p in scenario.symbols(NAME).items()
            if wanted in (None, pair_id(s))
        ]
    )


def spot_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"currency": c, "available": fmt(h.free), "locked": fmt(h.locked), "update_id": 1}
            for c, h in account.wallet("spot").items()
        ]
    )


def margin_side(code: str, h: Holding) -> dict[str, str]:
    # Gate: available = margin + borrowed, so the borrowed funds sit in it.
    return {"currency": code, "available": fmt(h.free), "locked": fmt(h.locked),
            "borrowed": fmt(h.borrowed), "interest": fmt(h.interest)}  # fmt: skip


def margin_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(margin_rows(account.wallet("margin")))


def margin_rows(wallet: dict[str, Holding]) -> list[dict[str, Any]]:
    """One isolated account per scenario coin: the coin against USDT (USDT itself: BTC_USDT),
    the other side of the pair empty."""
    found = []
    for code, h in wallet.items():
        base, quote = ("BTC", "USDT") if code == "USDT" else (code, "USDT")
        sides = {base: EMPTY, quote: EMPTY, code: h}
        found.append(
            {"currency_pair": f"{base}_{quote}", "account_type": "mmr", "leverage": "10",
             "locked": False, "risk": "", "mmr": "10",
             "base": margin_side(base, sides[base]), "quote": margin_side(quote, sides[quote])}
        )  # fmt: skip
    return found


def futures_account(code: str, h: Holding) -> dict[str, Any]:
    # total: the wallet (every transfer, fee and realised PnL); unrealised_pnl apart.
    return {
        "total": fmt(h.total), "unrealised_pnl": fmt(h.upl), "position_margin": "0",
        "order_margin": fmt(h.locked), "available": fmt(h.free), "point": "0",
        "currency": code, "in_dual_mode": False, "enable_credit": False,
        "position_initial_margin": "0", "maintenance_margin": "0", "bonus": "0",
        "enable_evolved_classic": True, "cross_order_margin": "0", "cross_initial_margin": "0",
        "cross_maintenance_margin": "0", "cross_unrealised_pnl": fmt(h.upl),
        "cross_available": fmt(h.free), "cross_margin_balance": fmt(h.total + h.upl),
        "cross_mmr": "0", "cross_imr": "0", "isolated_position_margin": "0",
        "enable_new_dual_mode": False, "margin_mode": 0, "enable_tiered_mm": True,
        "position_mode": "single",
        "history": {"dnw": fmt(h.total), "pnl": "0", "fee": "0", "refr": "0", "fund": "0",
                    "point_dnw": "0", "point_fee": "0", "point_refr": "0", "bonus_dnw": "0",
                    "bonus_offset": "0"},
    }  # fmt: skip


def not_opened() -> Reply:
    return json_reply(
        {"label": "USER_NOT_FOUND", "detail": "please transfer funds first to create futures "
         "account"}, 400
    )  # fmt: skip


def settled_account(account: Account, wallet: str, settle: str) -> Reply:
    """The wallet's holding of the settle currency; an account never opened is answered as Gate
    does, USER_NOT_FOUND."""
    if wallet not in account.balances:
        return not_opened()
    code = settle.upper()
    holding = account.wallet(wallet).get(code, EMPTY)
    return json_reply(futures_account(code, holding))


def settle_of(request: Request, prefix: str) -> str:
    return request.path.removeprefix(f"{PREFIX}/{prefix}/").split("/")[0]


def futures_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    settle = settle_of(request, "futures")
    if settle not in FUTURES_WALLETS:
        return error("INVALID_PARAM_VALUE", f"invalid settle: {settle}")
    return settled_account(account, FUTURES_WALLETS[settle], settle)


def delivery_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    settle = settle_of(request, "delivery")
    if settle not in DELIVERY_WALLETS:
        return error("FORBIDDEN", "Forbidden", 403)  # as Gate answers delivery/btc
    return settled_account(account, DELIVERY_WALLETS[settle], settle)


def options_account(request: Request, scenario: Scenario, account: Account) -> Reply:
    if "options" not in account.balances:
        return not_opened()
    code, h = next(iter(account.wallet("options").items()), ("USDT", EMPTY))
    # upl in the scenario is the open options' value (position_value); the emulator keeps no
    # entry prices, so its reference PnL is 0.
    return json_reply(
        {"user": 1, "total": fmt(h.total), "position_value": fmt(h.upl),
         "equity": fmt(h.total + h.upl), "short_enabled": False, "mmp_enabled": False,
         "liq_triggered": False, "margin_mode": 0, "unrealised_pnl": "0", "init_margin": "0",
         "maint_margin": "0", "order_margin": fmt(h.locked), "ask_order_margin": "0",
         "bid_order_margin": "0", "available": fmt(h.free), "point": "0", "currency": code,
         "orders_limit": 50, "position_notional_limit": 1000000}
    )  # fmt: skip


def uni_lends(request: Request, scenario: Scenario, account: Account) -> Reply:
    page, limit = int(request.query.get("page", 1)), int(request.query.get("limit", 100))
    rows = [
        {"currency": c, "current_amount": fmt(h.total), "amount": fmt(h.total),
         "lent_amount": fmt(h.free), "frozen_amount": fmt(h.locked), "min_rate": "0.0001",
         "interest_status": "interest_dividend", "reinvest_left_amount": "0",
         "create_time": 1673247054000, "update_time": now_ms()}
        for c, h in account.wallet("earn_uni").items()
    ]  # fmt: skip
    return json_reply(rows[(page - 1) * limit : page * limit])


def staking_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"pid": 20 + i, "mortgage_coin": c, "mortgage_amount": fmt(h.total),
             "createStamp": 1700000000, "extra_income": "0", "freeze_amount": fmt(h.locked),
             "move_income": "0", "type": 0, "status": 1, "income_total": "0",
             "yesterday_income_multi": [], "reward_coins": [
                 {"reward_coin": c, "interest_delay_days": 1, "reward_delay_days": 1}],
             "defi_income": {"total": []}}
            for i, (c, h) in enumerate(account.wallet("staking").items())
        ]
    )  # fmt: skip


# The functions Gate lists in a key's perms.
FUNCTIONS = ("wallet", "spot", "futures", "delivery", "earn", "options", "account", "margin",
             "unified")  # fmt: skip


def writable(account: Account, function: str) -> bool:
    if function == "wallet":
        return account.can("withdraw") or account.can("transfer")
    if function in ("spot", "margin", "unified"):
        return account.can("trade") or account.can("margin")
    if function in ("futures", "delivery", "options"):
        return account.can("trade") or account.can("futures")
    return False


def main_keys(request: Request, scenario: Scenario, account: Account) -> Reply:
    perms = [{"name": f, "read_only": not writable(account, f)} for f in FUNCTIONS]
    return json_reply(
        {"state": 1, "mode": 1, "name": [account.label], "currency_pairs": [], "user_id": 1,
         "ip_whitelist": [], "perms": perms, "key": {"mode": 1},
         "created_at": "1700000000", "updated_at": "1700000000", "last_access": "1700000000"}
    )  # fmt: skip


def account_detail(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        {"user_id": 1, "ip_whitelist": [], "currency_pairs": [], "key": {"mode": 1}, "tier": 0,
         "copy_trading_role": 0}
    )  # fmt: skip


def sub_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every regular sub-account in one answer (Gate documents no paging); user_id a number."""
    return json_reply(
        [
            {"remark": s.name, "login_name": f"user{s.id}", "user_id": int(s.id), "state": 1,
             "type": 1, "create_time": s.created_ms // 1000}
            for s in account.subaccounts.values()
        ]
    )  # fmt: skip


def asked_subs(request: Request, account: Account) -> list[SubAccount] | Reply:
    """The sub-accounts sub_uid names (comma-separated; none: every one); an unknown one is
    answered as Gate does."""
    wanted = request.query.get("sub_uid")
    if wanted is None:
        return list(account.subaccounts.values())
    found = []
    for uid in wanted.split(","):
        sub = account.subaccounts.get(uid)
        if sub is None:
            return error("SUB_ACCOUNT_NOT_FOUND", "Sub account not found")
        found.append(sub)
    return found


def per_sub(build: Any) -> Any:
    """A sub-account balance route: [{uid, available: build(sub)}] per asked sub-account."""

    def serve(request: Request, scenario: Scenario, account: Account) -> Reply:
        subs = asked_subs(request, account)
        if isinstance(subs, Reply):
            return subs
        return json_reply([{"uid": s.id, "available": build(s, request)} for s in subs])

    return serve


def sub_spot(sub: SubAccount, request: Request) -> dict[str, str]:
    return {c: fmt(h.free) for c, h in sub.wallet("spot").items()}  # available only


def sub_margin(sub: SubAccount, request: Request) -> list[dict[str, Any]]:
    return margin_rows(sub.wallet("margin"))


def sub_futures(sub: SubAccount, request: Request) -> dict[str, Any]:
    """{settle: the futures account}, {} for a settle the sub-account never opened."""
    found: dict[str, Any] = {}
    for settle, wallet in FUTURES_WALLETS.items():
        if request.query.get("settle") not in (None, settle):
            continue
        holding = sub.wallet(wallet).get(settle.upper())
        opened = wallet in sub.balances
        found[settle] = futures_account(settle.upper(), holding or EMPTY) if opened else {}
    return found


def route(path: str) -> tuple[str, str]:
    return ("GET", PREFIX + path)


ROUTES = {
    route("/spot/currencies"): Route(MARKETS, currencies),
    route("/spot/currency_pairs"): Route(MARKETS, currency_pairs),
    route("/margin/currency_pairs"): Route(MARKETS, margin_pairs),
    route("/spot/tickers"): Route(TICKER, tickers),
    route("/spot/accounts"): Route(BALANCE, spot_accounts, private=True),
    route("/margin/accounts"): Route(BALANCE, margin_accounts, private=True),
    **{
        route(f"/futures/{s}/accounts"): Route(BALANCE, futures_accounts, private=True)
        for s in FUTURES_WALLETS
    },
    **{
        route(f"/delivery/{s}/accounts"): Route(BALANCE, delivery_accounts, private=True)
        for s in ("usdt", "btc")
    },
    route("/options/accounts"): Route(BALANCE, options_account, private=True),
    route("/earn/uni/lends"): Route(BALANCE, uni_lends, private=True),
    route("/earn/staking/assets"): Route(BALANCE, staking_assets, private=True),
    route("/account/main_keys"): Route(ACCOUNT, main_keys, private=True),
    route("/account/detail"): Route(ACCOUNT, account_detail, private=True),
    route("/sub_accounts"): Route(ACCOUNT, sub_accounts, private=True),
    route("/wallet/sub_account_balances"): Route(BALANCE, per_sub(sub_spot), private=True),
    route("/wallet/sub_account_margin_balances"): Route(BALANCE, per_sub(sub_margin), private=True),
    route("/wallet/sub_account_futures_balances"): Route(
        BALANCE, per_sub(sub_futures), private=True
    ),
}

SPEC = ExchangeSpec(NAME, "KEY", ROUTES, authenticate)
