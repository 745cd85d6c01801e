"""Gemini: the exchange account, staking, and perpetuals' unrealised PnL.

Wallets, products and the amount field used (negative = a debt to the exchange):

gemini    spot      POST /v1/balances               spot      amount (available + held in
                                                              orders)
          earn      POST /v1/balances/staking       staking   balance (staked, whichever part
                                                              is available for withdrawal)
          futures   POST /v1/positions (perps)      futures   unrealised_pnl, in the contract's
                    settlement currency (btcgusdperp -> GUSD), either sign

A row repeated with the same currency (positions: symbol) is taken once. Amounts are decimal
strings in /v1/balances; the staking answer's are documented as JSON numbers, so the client reads
every number as its decimal text (`numbers_as_text`), never through floats.

Unrealised PnL apart: the perpetuals' collateral is a balance of the account (read as spot, the
ledger's figure, neither inflated nor deflated by open positions) and each open position's
unrealised PnL is a futures row of its own, so the account's total is the claim.

Not read: Gemini Earn (the Genesis lending programme, ended in 2023: nothing is held there any
more), spot margin (/v1/margin/account answers standard accounts with an error and gives only
USD aggregates, totalBorrowed, not each borrowed currency), staking lock dates (the answer has
none: availableForWithdrawal says how much, not until when), other accounts of the group (ccxt
signs with account-level keys only: a master key is refused before any request).

Key permissions come from /v1/roles (one request): every role may read balances; Trader
(isTrader) trades; Fund Manager (isFundManager) withdraws; Auditor is read-only.

Error bodies {"result": "error", "reason": ..., "message": ...}: InvalidNonce is 'clock',
Maintenance and System (technical issues, which ccxt raises as a plain ExchangeError)
'maintenance', RateLimit 'rate_limit'; ccxt raises InvalidApiKey, InvalidSignature and
MissingRole as AuthenticationError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call, PermissionCall
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.payload import amount, currency, dig, flag, rows, shown, text
from portfolio.exchanges.rows import FetchedBalance, Page, Row, rows_field

PERP = "PERP"


def settlement_currency(client: Any, symbol: str) -> str:
    """The perpetual's settlement (quote) currency id, as ccxt splits Gemini's symbols:
    btcgusdperp -> GUSD."""
    pair = symbol.upper().removesuffix(PERP)
    quotes = client.options.get("fetchMarketsFromAPI", {}).get("quoteCurrencies", [])
    found = next((q for q in quotes if pair.endswith(q) and len(pair) > len(q)), None)
    if found is None:
        raise Malformed(f"symbol is {shown(symbol)}, not a pair Gemini quotes")
    return str(found)


def positions(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data):
        symbol = text(row, "symbol")
        reported, code = currency(client, settlement_currency(client, symbol), "symbol")
        pnl = amount(row, code, "unrealised_pnl", signed=True)
        yield Row(f"position {symbol.lower()}", FetchedBalance(reported, code, "futures", pnl))


def permissions(payload: Any) -> dict[str, bool]:
    roles = dig(payload, kind=dict)
    auditor = flag(roles, "isAuditor")
    trader, fund_manager = flag(roles, "isTrader"), flag(roles, "isFundManager")
    return {"read": auditor or trader or fund_manager, "trade": trader, "withdraw": fund_manager}


# Sources: Gemini's documented error reasons and ccxt's table.
ERRORS = {
    "InvalidNonce": "clock",
    "Maintenance": "maintenance",
    "System": "maintenance",  # "We are experiencing technical issues"
    "RateLimit": "rate_limit",
}


def body_error_kind(document: Any) -> str | None:
    if not isinstance(document, dict) or document.get("result") != "error":
        return None
    return ERRORS.get(str(document.get("reason")))


ADAPTER = Adapter(
    id="gemini",
    name="Gemini",
    wallets={
        "spot": (
            Call("private_post_v1_balances", {}, rows_field((), "currency", "amount", "spot")),
        ),
        "earn": (
            Call(
                "private_post_v1_balances_staking",
                {},
                rows_field((), "currency", "balance", "staking"),
            ),
        ),
        "futures": (Call("private_post_v1_positions", {}, positions),),
    },
    ticker_last=("price",),  # /v1/pricefeed: {"pair", "price", "percentChange24h"}
    # Markets from /v1/symbols alone: the currencies would be scraped from the web site.
    market_options={"fetchCurrencies": {"webApiEnable": False}},
    permissions=PermissionCall("private_post_v1_roles", permissions),
    body_error_kind=body_error_kind,
    numbers_as_text=True,
)
