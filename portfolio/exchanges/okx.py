"""OKX: the trading account, funding and savings.

Wallets, products and the amount field used (negative = a debt to the exchange):

okx       spot      GET /api/v5/account/balance (trading)  spot, or margin when the currency has
                    a liability: the wallet, `eq` - `upl` (OKX's equity per currency, net of
                    borrowing, less the unrealised PnL: its cash balance)
                    + the same row  futures   `upl` of the open derivatives positions
                    settled in the currency, either sign
          funding   GET /api/v5/asset/balances             funding   bal
          earn      GET /api/v5/finance/savings/balance    earn      amt

A row repeated with the same ccy is taken once. Trading rows with a liability are margin, the
only ones that may be negative.

Unrealised PnL apart: `eq` includes the unrealised PnL of open positions (`upl`). The wallet is
booked as eq - upl and the PnL as a futures holding of the currency, so the location's total
stays eq exactly while spot is neither inflated nor deflated by open positions. eq - upl rather
than cashBal: whatever else eq holds (isolated margin equity, option value) stays in the wallet
instead of vanishing from the total. `eq` is required, as before. A missing or empty `upl`
reads as no PnL, so eq is booked as the wallet, as before: the total is still the claim, and
refusing the sync over a field that only places value between spot and futures would leave the
fund blind instead. Recorded real payloads (tests/portfolio/test_recorded_payloads.py) have
eq - upl = cashBal for every currency.

Key permissions come from account/config (one request).

Every JSON object answer carries "code": one without it is a malformed answer (ccxt would raise a
non-retryable ExchangeError). Error codes 50102/50112 (refused timestamp) are 'clock', busy or
unavailable 'maintenance', 50011 'rate_limit'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call, PermissionCall, coded_errors
from portfolio.exchanges.errors import PermissionsUnreadable
from portfolio.exchanges.payload import currency, dig, optional_amount, rows, shown
from portfolio.exchanges.rows import EquitySplit, Page, Row, rows_field, split_equity

TRADING = EquitySplit("eq", "upl")


def trading(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data", 0, "details"):
        _, code = currency(client, row.get("ccy"), "ccy")
        liability = optional_amount(row, "liab", code) != 0
        product = "margin" if liability else "spot"
        yield from split_equity(client, row, "ccy", product, TRADING, signed=liability)


def permissions(payload: Any) -> dict[str, bool]:
    perm = dig(payload, "data", 0, kind=dict).get("perm")
    if not isinstance(perm, str) or not perm.strip():
        raise PermissionsUnreadable(f"perm is {shown(perm)}")
    granted = {p.strip() for p in perm.split(",")}
    return {"read": True, "trade": "trade" in granted, "withdraw": "withdraw" in granted}


# Sources: OKX's documented error codes.
BODY_CODES = {
    "50102": "clock",  # timestamp request expired
    "50112": "clock",  # invalid OK-ACCESS-TIMESTAMP
    "50001": "maintenance",  # service temporarily unavailable
    "50004": "maintenance",  # endpoint request timeout
    "50005": "maintenance",  # API offline or unavailable
    "50013": "maintenance",  # systems busy
    "50026": "maintenance",  # system error
    "50011": "rate_limit",
}

ADAPTER = Adapter(
    id="okx",
    name="OKX",
    wallets={
        "spot": (Call("private_get_account_balance", {}, trading),),
        "funding": (
            Call("private_get_asset_balances", {}, rows_field(("data",), "ccy", "bal", "funding")),
        ),
        "earn": (
            Call(
                "private_get_finance_savings_balance",
                {},
                rows_field(("data",), "ccy", "amt", "earn"),
            ),
        ),
    },
    ticker_last=("last",),
    market_options={"fetchMarkets": {"types": ["spot"]}},
    permissions=PermissionCall("private_get_account_config", permissions),
    envelope="code",
    body_error_kind=coded_errors("code", BODY_CODES),
)
