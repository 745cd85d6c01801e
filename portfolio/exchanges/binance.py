"""Binance: spot, funding, cross margin, USDⓈ-M futures, Simple Earn and staking.

Wallets, products and the amount field used (negative = a debt to the exchange):

binance   spot      GET /api/v3/account                    spot      free + locked
          funding   POST /sapi/v1/asset/get-funding-asset  funding   free + locked + freeze
                                                                     + withdrawing (still there)
          margin    GET /sapi/v1/margin/account (cross)    margin    netAsset (free + locked -
                                                                     borrowed - interest)
          futures   GET fapi /fapi/v3/account (USDⓈ-M)     futures   the wallet,
                    walletBalance, and the open positions, marginBalance - walletBalance
                    (= unrealizedProfit), as two rows of the same product: they merge into
                    marginBalance, what closing every position now would leave
          earn      simple-earn flexible (paged)           earn      totalAmount
                    simple-earn locked (paged)             earn      amount, locked until
                                                                     redeemDate (epoch ms)
                    /sapi/v1/staking/position STAKING      staking   amount

A row repeated with the same asset (earn: positionId, else productId) is taken once.

Unrealised PnL apart, as for bybit and okx: the futures wallet and its PnL are both `futures`, so
the holding is still marginBalance (the claim), and no other wallet carries the PnL. `marginBalance`
is required, as before; without walletBalance the PnL is unrealizedProfit, and without that too,
none (marginBalance booked whole, as before). Recorded real payloads
(tests/portfolio/test_recorded_payloads.py) have marginBalance = walletBalance + unrealizedProfit,
and walletBalance is ccxt's total.

Sub-accounts, read with the master key (the sub-account's e-mail is its id, its remark its name):

listing   GET /sapi/v1/sub-account/list (page, limit 200)  subAccounts[].email, remark; a full
                                                             page asks for the next one
spot      GET /sapi/v4/sub-account/assets?email=      spot      free + locked + freeze +
                                                                withdrawing (still there)
margin    GET /sapi/v1/sub-account/margin/account     margin    netAsset (as the master's)
futures   GET /sapi/v2/sub-account/futures/account    futures   walletBalance and the PnL
          ?futuresType=1 (USDⓈ-M)                               apart (as the master's)

v4 of the assets call, not v3: v3 documents its amounts as JSON numbers, which arrive as floats
(refused: they have lost digits); v4 sends strings. Binance has no master-key call for a
sub-account's funding wallet, Simple Earn or staking positions: they are not read. An unknown
e-mail is an error body (-4003 'Your input email is invalid.'), a fault like any other.

Key permissions come from apiRestrictions (one request).

Not fetched: isolated margin, COIN-M futures and portfolio margin. The balance types `option` and
`delivery` are never passed to fetch_balance: ccxt silently falls back to spot for them, which
double counts.

Error bodies {"code": ...}: -1021 (timestamp outside the recvWindow) is 'clock'; internal errors,
timeouts and overload are 'maintenance'; -1003 is 'rate_limit'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from portfolio.exchanges.adapter import (
    Adapter,
    Call,
    PermissionCall,
    SubAccountRef,
    SubAccounts,
    coded_errors,
    listed_subaccount,
)
from portfolio.exchanges.payload import dig, epoch_ms, flag, rows
from portfolio.exchanges.rows import (
    AmountFields,
    EquitySplit,
    Lock,
    Page,
    Row,
    row_of,
    rows_field,
    split_equity,
)


def spot(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "balances"):
        yield row_of(client, row, "asset", "spot", AmountFields(("free", "locked")))


def funding(client: Any, page: Page) -> Iterator[Row]:
    fields = AmountFields(("free", "locked"), optional=("freeze", "withdrawing"))
    for row in rows(page.data):
        yield row_of(client, row, "asset", "funding", fields)


def margin(client: Any, page: Page, path: tuple[str, ...] = ("userAssets",)) -> Iterator[Row]:
    for row in rows(page.data, *path):
        yield row_of(client, row, "asset", "margin", AmountFields(("netAsset",), signed=True))


FUTURES = EquitySplit("marginBalance", "unrealizedProfit", wallet="walletBalance")


def futures(client: Any, page: Page, path: tuple[str, ...] = ("assets",)) -> Iterator[Row]:
    for row in rows(page.data, *path):
        yield from split_equity(client, row, "asset", "futures", FUTURES, signed=True)


def subaccount_spot(client: Any, page: Page) -> Iterator[Row]:
    fields = AmountFields(("free", "locked"), optional=("freeze", "withdrawing"))
    for row in rows(page.data, "balances"):
        yield row_of(client, row, "asset", "spot", fields)


def subaccount_margin(client: Any, page: Page) -> Iterator[Row]:
    return margin(client, page, ("marginUserAssetVoList",))


def subaccount_futures(client: Any, page: Page) -> Iterator[Row]:
    return futures(client, page, ("futureAccountResp", "assets"))


def subaccount_wallets(email: str) -> dict[str, tuple[Call, ...]]:
    return {
        "spot": (Call("sapiv4_get_sub_account_assets", {"email": email}, subaccount_spot),),
        "margin": (
            Call("sapi_get_sub_account_margin_account", {"email": email}, subaccount_margin),
        ),
        "futures": (
            Call(
                "sapiv2_get_sub_account_futures_account",
                {"email": email, "futuresType": 1},
                subaccount_futures,
            ),
        ),
    }


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    return [listed_subaccount(row, "email", ("remark",)) for row in rows(payload, "subAccounts")]


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """No total is sent: a full page may have a successor, a short one is the last."""
    listed = payload.get("subAccounts") if isinstance(payload, dict) else None
    if not isinstance(listed, list) or len(listed) < int(params["limit"]):
        return None
    return params | {"page": int(params["page"]) + 1}


def earn_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    total = payload.get("total") if isinstance(payload, dict) else None
    current = int(params.get("current", 1))
    if not isinstance(total, int) or current * int(params["size"]) >= total:
        return None
    return params | {"current": current + 1}


TRADING = (
    "enableSpotAndMarginTrading", "enableMargin", "enableFutures", "enableVanillaOptions",
    "enablePortfolioMarginTrading", "enableFixApiTrade",
)  # fmt: skip


def permissions(payload: Any) -> dict[str, bool]:
    flags = dig(payload, kind=dict)
    trading = [flag(flags, name, required=name == TRADING[0]) for name in TRADING]
    return {
        "read": flag(flags, "enableReading"),
        "trade": any(trading),
        "withdraw": flag(flags, "enableWithdrawals"),
    }


def locked_earn(client: Any, page: Page) -> Iterator[Row]:
    """Simple Earn locked positions: the amount cannot be redeemed before redeemDate."""
    for row in rows(page.data, "rows"):
        found = row_of(client, row, "asset", "earn", AmountFields(("amount",)))
        position = next((str(row[i]) for i in POSITION_IDS if row.get(i) not in (None, "")), "")
        balance, until = found.balance, epoch_ms(row, "redeemDate", found.balance.code)
        if until is not None and balance.amount:
            balance = replace(balance, locks=(Lock(balance.amount, until),))
        yield Row(f"{found.row_id} {position}".strip(), balance)


EARN_PAGE = {"size": 100, "current": 1}
POSITION_IDS = ("positionId", "productId")  # earn: a position, else its product
# Sources: Binance's documented error codes.
BODY_CODES = {
    "-1021": "clock",  # timestamp outside the recvWindow
    "-1001": "maintenance",  # internal error, try again
    "-1006": "maintenance",  # unexpected response from the message bus
    "-1007": "maintenance",  # timeout waiting for the backend
    "-1008": "maintenance",  # server overloaded
    "-1003": "rate_limit",
}

ADAPTER = Adapter(
    id="binance",
    name="Binance",
    wallets={
        "spot": (Call("private_get_account", {"omitZeroBalances": "true"}, spot),),
        "funding": (Call("sapi_post_asset_get_funding_asset", {}, funding),),
        "margin": (Call("sapi_get_margin_account", {}, margin),),
        "futures": (Call("fapiprivatev3_get_account", {}, futures),),
        "earn": (
            Call(
                "sapi_get_simple_earn_flexible_position",
                EARN_PAGE,
                rows_field(("rows",), "asset", "totalAmount", "earn", POSITION_IDS),
                earn_next_page,
            ),
            Call(
                "sapi_get_simple_earn_locked_position",
                EARN_PAGE,
                locked_earn,
                earn_next_page,
            ),
            Call(
                "sapi_get_staking_position",
                {"product": "STAKING"},
                rows_field((), "asset", "amount", "staking", POSITION_IDS),
            ),
        ),
    },
    ticker_last=("lastPrice",),
    market_options={
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
    },
    permissions=PermissionCall("sapi_get_account_apirestrictions", permissions),
    body_error_kind=coded_errors("code", BODY_CODES),
    subaccounts=SubAccounts(
        listing="sapi_get_sub_account_list",
        params={"page": 1, "limit": 200},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="Binance has no master-key call for a sub-account's funding wallet, Simple "
        "Earn or staking positions: those are not read.",
    ),
)
