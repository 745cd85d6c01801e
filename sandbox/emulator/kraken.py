"""kraken: Assets, AssetPairs, Ticker and BalanceEx with Kraken's own asset codes.

Balances in the scenario use Kraken's raw codes (XXBT, ZUSD, BTC.F, ETH2.S, DOT.S, USDC.M, KFEE)
because those are what BalanceEx returns and what the app must normalise. Prices use unified
symbols (BTC/USD) and are served under Kraken's pair ids (XXBTZUSD).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    hmac_b64,
    json_reply,
    same,
)
from sandbox.emulator.scenario import Account, Scenario, fmt, split_symbol

NAME = "kraken"
# Kraken's legacy X/Z-prefixed asset ids, by unified code, and their altnames.
LEGACY = {
    "BTC": "XXBT", "ETH": "XETH", "LTC": "XLTC", "XRP": "XXRP", "XLM": "XXLM", "DOGE": "XXDG",
    "ETC": "XETC", "ZEC": "XZEC", "XMR": "XXMR", "USD": "ZUSD", "EUR": "ZEUR", "GBP": "ZGBP",
    "CAD": "ZCAD", "JPY": "ZJPY",
}  # fmt: skip
ALTNAMES = {"XXBT": "XBT", "XXDG": "XDG", "KFEE": "FEE"} | {
    kid: code for code, kid in LEGACY.items() if kid not in ("XXBT", "XXDG")
}


def result(payload: Any) -> Reply:
    return json_reply({"error": [], "result": payload})


def failure(message: str) -> Reply:
    return json_reply({"error": [message]})


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("API-Key"))
    if account is None or account.revoked:
        return failure("EAPI:Invalid key")
    if not same(signature(account.secret, request), request.header("API-Sign")):
        return failure("EAPI:Invalid signature")
    return account


def signature(secret: str, request: Request) -> str:
    """HMAC-SHA512 over path + SHA-256(nonce + body), keyed with the base64-decoded secret."""
    try:
        key = base64.b64decode(secret, validate=True)
    except binascii.Error:
        return ""
    nonce = request.form.get("nonce", "")
    digest = hashlib.sha256((nonce + request.text).encode()).digest()
    return hmac_b64(key, request.path.encode() + digest, "sha512")


def asset_id(code: str) -> str:
    return LEGACY.get(code, code)


def altname(kraken_id: str) -> str:
    return ALTNAMES.get(kraken_id, kraken_id)


def pair_ids(symbol: str) -> tuple[str, str, str]:
    """(pair id, base id, quote id): legacy pairs concatenate ids (XXBTZUSD), others altnames."""
    base, quote = (asset_id(c) for c in split_symbol(symbol))
    legacy = base in ALTNAMES and quote in ALTNAMES and base != "KFEE"
    pair = base + quote if legacy else altname(base) + altname(quote)
    return pair, base, quote


def asset_entry(kraken_id: str) -> dict[str, Any]:
    return {
        "aclass": "currency", "altname": altname(kraken_id), "decimals": 10,
        "display_decimals": 8, "collateral_value": 1, "status": "enabled",
    }  # fmt: skip


def assets(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    ids = sorted({asset_id(code) for code in scenario.codes(NAME)})
    return result({kid: asset_entry(kid) for kid in ids})


def pair_entry(symbol: str) -> dict[str, Any]:
    _, base, quote = pair_ids(symbol)
    return {
        "altname": altname(base) + altname(quote), "wsname": f"{altname(base)}/{altname(quote)}",
        "aclass_base": "currency", "base": base, "aclass_quote": "currency", "quote": quote,
        "lot": "unit", "cost_decimals": 5, "pair_decimals": 5, "lot_decimals": 8,
        "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [], "fees": [[0, 0.4]],
        "fees_maker": [[0, 0.25]], "fee_volume_currency": "ZUSD", "margin_call": 80,
        "margin_stop": 40, "ordermin": "0.0001", "costmin": "0.5", "tick_size": "0.00001",
        "status": "online",
    }  # fmt: skip


def asset_pairs(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return result({pair_ids(s)[0]: pair_entry(s) for s in scenario.symbols(NAME)})


def ticker_entry(price: str) -> dict[str, Any]:
    return {
        "a": [price, "1", "1.000"], "b": [price, "1", "1.000"], "c": [price, "0.001"],
        "v": ["1000", "1000"], "p": [price, price], "t": [10, 10], "l": [price, price],
        "h": [price, price], "o": price,
    }  # fmt: skip


def ticker(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    found = {}
    for symbol, price in scenario.symbols(NAME).items():
        pair, base, quote = pair_ids(symbol)
        found[pair] = (altname(base) + altname(quote), ticker_entry(fmt(price)))
    wanted = [p for p in request.query.get("pair", "").split(",") if p]
    picked = {pair: entry for pair, (alt, entry) in found.items() if not wanted or pair in wanted}
    alts = {alt for alt, _ in found.values()} | set(found)
    if any(w not in alts for w in wanted):
        return failure("EQuery:Unknown asset pair")
    return result(picked)


def balance_ex(request: Request, scenario: Scenario, account: Account) -> Reply:
    return result(
        {
            code: {"balance": fmt(h.total), "hold_trade": fmt(h.locked)}
            for code, h in account.wallet("spot").items()
        }
    )


ROUTES = {
    ("GET", "/0/public/Assets"): Route(MARKETS, assets),
    ("GET", "/0/public/AssetPairs"): Route(MARKETS, asset_pairs),
    ("GET", "/0/public/Ticker"): Route(TICKER, ticker),
    ("POST", "/0/private/BalanceEx"): Route(BALANCE, balance_ex, private=True),
}

SPEC = ExchangeSpec(NAME, "API-Key", ROUTES, authenticate)
