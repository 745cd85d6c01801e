"""Bitget (API v2, classic account): spot, funding, earn, cross and isolated margin, futures.

Wallets, products and the amount field used (negative = a debt to the exchange):

bitget    spot      GET /api/v2/spot/account/assets        spot      available + frozen + locked
          funding   GET /api/v2/account/funding-assets     funding   available + frozen
          earn      GET /api/v2/earn/account/assets        earn      amount (every Earn product)
          margin    GET /api/v2/margin/crossed/account/assets   margin   net (totalAmount -
                                                                         borrow - interest)
                    GET /api/v2/margin/isolated/account/assets  margin   net, per symbol
          futures   GET /api/v2/mix/account/accounts, one request per productType (USDT-FUTURES,
                    COIN-FUTURES, USDC-FUTURES): accountEquity (it includes the unrealised PnL),
                    booked as the wallet, accountEquity - unrealizedPL, and the open positions'
                    unrealizedPL, two rows of the futures product that merge into the equity

A row repeated with the same coin (isolated margin: symbol and coin) is taken once. Margin and
futures rows may be negative; the others may not.

Earn: the Earn overview (every product: savings flexible and fixed, Shark Fin…), one row per coin.
Not the savings assets list: it covers only positions created in the last three months by default
(`startTime`), so an older fixed deposit would vanish; and neither list reports when a fixed term
ends (period and holdDays only), so no lock date is attached. Bitget's API has no staking wallet
(on-chain Earn products are in the overview).

Unrealised PnL apart, as for binance: the futures wallet and its PnL are both futures, so the
holding is accountEquity, the claim, and spot is never touched by open positions. accountEquity is
required; an empty unrealizedPL (Bitget sends "" without positions) reads as none.

Not read: the unified trading account (v3, `uta`: Bitget answers a unified account's key on
these classic endpoints with 40085, "You are in Unified Account mode", which ccxt raises as
PermissionDenied: the sync pauses with those words until a classic account's key is entered),
copy-trading and bot assets, P2P, the multi-assets (`union`) mode's per-coin assetList (its value
is in accountEquity, in the margin coin), and the demo productTypes (S*-FUTURES).

Key permissions come from /api/v2/spot/account/info `authorities`: withdraw is `wwow`, trading any
write permission on orders or holdings (futures, spot, margin, copy trading).

Every JSON object answer carries "code" ("00000" on success). Error codes 40004/40005/40008
(request timestamp expired or invalid) are 'clock', 40200 (server upgrade) and 40015/45001
(system error) 'maintenance', 429 'rate_limit'; a wrong key, passphrase or signature is an
authentication error by ccxt's own table (40006, 40012, 40009).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call, PermissionCall, coded_errors
from portfolio.exchanges.errors import PermissionsUnreadable
from portfolio.exchanges.payload import dig, rows, shown
from portfolio.exchanges.rows import (
    AmountFields,
    EquitySplit,
    Page,
    Row,
    row_of,
    rows_field,
    split_equity,
)


def spot(client: Any, page: Page) -> Iterator[Row]:
    fields = AmountFields(("available",), optional=("frozen", "locked"))
    for row in rows(page.data, "data"):
        yield row_of(client, row, "coin", "spot", fields)


def funding(client: Any, page: Page) -> Iterator[Row]:
    # The documented example sends frozen as "" when nothing is frozen.
    fields = AmountFields(("available",), optional=("frozen",))
    for row in rows(page.data, "data"):
        yield row_of(client, row, "coin", "funding", fields)


NET = AmountFields(("net",), signed=True)


def cross_margin(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data"):
        yield row_of(client, row, "coin", "margin", NET)


def isolated_margin(client: Any, page: Page) -> Iterator[Row]:
    # One row per coin of each isolated pair: BTC and USDT of BTCUSDT are two rows.
    for row in rows(page.data, "data"):
        found = row_of(client, row, "coin", "margin", NET)
        yield Row(f"{row.get('symbol')} {found.row_id}", found.balance)


FUTURES = EquitySplit("accountEquity", "unrealizedPL")


def futures(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data"):
        yield from split_equity(client, row, "marginCoin", "futures", FUTURES, signed=True)


# Write permissions that trade: futures orders and holdings, spot, margin, copy trading.
TRADING = frozenset({"coow", "cpow", "stow", "smow", "ttow", "trade"})
WITHDRAW = frozenset({"wwow", "withdraw"})


def permissions(payload: Any) -> dict[str, bool]:
    granted = dig(payload, "data", kind=dict).get("authorities")
    if not isinstance(granted, list) or not all(isinstance(a, str) for a in granted):
        raise PermissionsUnreadable(f"authorities is {shown(granted)}, not a list of names")
    names = {a.strip().lower() for a in granted}
    return {"read": True, "trade": bool(names & TRADING), "withdraw": bool(names & WITHDRAW)}


PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
# Sources: Bitget's documented error codes and ccxt's exceptions table for bitget.
BODY_CODES = {
    "40004": "clock",  # request timestamp expired
    "40005": "clock",  # invalid ACCESS-TIMESTAMP
    "40008": "clock",  # request timestamp expired
    "40200": "maintenance",  # server upgrade, try again later
    "40015": "maintenance",  # system error
    "45001": "maintenance",  # unknown error, try again
    "429": "rate_limit",  # too many requests
}

ADAPTER = Adapter(
    id="bitget",
    name="Bitget",
    wallets={
        "spot": (Call("private_spot_get_v2_spot_account_assets", {}, spot),),
        "funding": (Call("private_spot_get_v2_account_funding_assets", {}, funding),),
        "earn": (
            Call(
                "private_earn_get_v2_earn_account_assets",
                {},
                rows_field(("data",), "coin", "amount", "earn"),
            ),
        ),
        "margin": (
            Call("private_margin_get_v2_margin_crossed_account_assets", {}, cross_margin),
            Call("private_margin_get_v2_margin_isolated_account_assets", {}, isolated_margin),
        ),
        "futures": tuple(
            Call("private_mix_get_v2_mix_account_accounts", {"productType": kind}, futures)
            for kind in PRODUCT_TYPES
        ),
    },
    ticker_last=("lastPr",),
    # uta False: the classic account is read; without it ccxt asks v3/account/settings
    # before its tickers whether the key's account is a unified one.
    market_options={"fetchMarkets": {"types": ["spot"]}, "uta": False},
    permissions=PermissionCall("private_spot_get_v2_spot_account_info", permissions),
    envelope="code",
    body_error_kind=coded_errors("code", BODY_CODES),
)
