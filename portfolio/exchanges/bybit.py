"""Bybit: the unified account, funding and earn.

Wallets, products and the amount field used (negative = a debt to the exchange):

bybit     spot      GET /v5/account/wallet-balance UNIFIED spot: the wallet, walletBalance;
                    margin when the coin has borrowing or accrued interest: equity -
                    unrealisedPnl (net of the debt, negative when a debt)
                    + the same row  futures   equity - that wallet: the open derivatives
                    positions settled in the coin, either sign
          funding   GET .../query-account-coins-balance FUND funding walletBalance
          earn      GET /v5/earn/position FlexibleSaving   earn      amount
                    GET /v5/earn/position OnChain          staking   amount

A row repeated with the same account type + coin (earn: productId) is taken once. Unified rows
with borrowing or accrued interest are margin, the only ones that may be negative.

Unrealised PnL apart: Bybit's per-coin `equity` (walletBalance - spotBorrow + unrealisedPnl + option
value) is the claim on the exchange, and it is what the location totals: the wallet is booked under
spot or margin and the rest of the equity as a futures holding of the coin, so spot is neither
inflated nor deflated by open positions. Without a debt the wallet is walletBalance itself, the
ledger's figure (ccxt's total too), and futures is equity - walletBalance: the unrealised PnL as
Bybit computes it (the reported unrealisedPnl is rounded: a recorded XRP row has walletBalance +
unrealisedPnl 1e-8 above its equity) and any option value. With a debt, which borrowing
walletBalance nets is not said by the row (borrowAmount also counts derivatives liabilities), so the
wallet is equity - unrealisedPnl, net of the debt whichever way it is reported. `equity` is
required, as before: without it there is no claim to book. A missing or empty walletBalance falls
back to equity - unrealisedPnl; a missing or empty unrealisedPnl there reads as no PnL, so the
equity is booked as the wallet, as before: the total is still the claim, and refusing the sync over
fields that only place value between spot and futures would leave the fund blind instead. Recorded
real payloads: tests/portfolio/test_recorded_payloads.py.

Sub-accounts, read with the master key (the sub-member's uid is its id; its remark, else its
username, the name shown):

listing   GET /v5/user/submembers (pageSize 100)   subMembers[].uid, remark, username; pages
                                                   by nextCursor until "0"
spot      GET /v5/asset/transfer/query-account-coins-balance?memberId=&accountType=UNIFIED
                                                   spot      walletBalance
funding   the same with accountType=FUND           funding   walletBalance

That call gives a sub-member's wallet balance only: no equity, unrealised PnL or borrowing, so a
sub-member's open positions and debts are not read (a negative walletBalance is refused as
malformed rather than booked as spot); nor is its Earn (no master-key call). Doubtful: Bybit's
current docs say `coin` is required with accountType=UNIFIED (at most 10 per request); the call
is made without it, and if Bybit refuses that, the refusal is a fault, never an empty wallet. An
unknown memberId is an error body (131202 'Invalid memberId'), a fault like any other.

Key permissions come from user/query-api (one request).

Every JSON object answer carries "retCode": one without it is a malformed answer. Error code
10002 (request time outside the recv_window) is 'clock', server timeouts and restarts
'maintenance', 10006/10018 'rate_limit'.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from portfolio.exchanges.errors import PermissionsUnreadable
from portfolio.exchanges.payload import currency, dig, optional_amount, rows, shown
from portfolio.exchanges.rows import EquitySplit, Page, Row, rows_field, split_equity

UNIFIED = EquitySplit("equity", "unrealisedPnl", wallet="walletBalance")


def unified(client: Any, page: Page) -> Iterator[Row]:
    for account in rows(page.data, "result", "list"):
        kind = str(account.get("accountType") or "")
        for row in rows(account, "coin"):
            _, code = currency(client, row.get("coin"), "coin")
            debt = optional_amount(row, "borrowAmount", code) != 0
            debt = debt or optional_amount(row, "accruedInterest", code) != 0
            product = "margin" if debt else "spot"
            split = UNIFIED.without_wallet() if debt else UNIFIED
            for found in split_equity(client, row, "coin", product, split, signed=debt):
                yield Row(f"{kind} {found.row_id}".strip(), found.balance)


TRADING = ("ContractTrade", "Spot", "Options", "Derivatives", "Exchange", "CopyTrading")


def permissions(payload: Any) -> dict[str, bool]:
    result = dig(payload, "result", kind=dict)
    groups = dig(result, "permissions", kind=dict)
    read_only = result.get("readOnly")
    if read_only not in (0, 1) or isinstance(read_only, float):
        raise PermissionsUnreadable(f"readOnly is {shown(read_only)}, not 0 or 1")
    wallet = groups.get("Wallet")
    if not isinstance(wallet, list):
        raise PermissionsUnreadable(f"permissions.Wallet is {shown(wallet)}, not a list")
    can_trade = any(groups.get(name) for name in (*TRADING, "BlockTrade"))
    return {
        "read": True,
        "trade": bool(can_trade) and not read_only,
        "withdraw": "Withdraw" in wallet,
    }


COINS_BALANCE = "private_get_v5_asset_transfer_query_account_coins_balance"


def subaccount_wallets(uid: str) -> dict[str, tuple[Call, ...]]:
    def coins(kind: str, product: str) -> Call:
        parse = rows_field(("result", "balance"), "coin", "walletBalance", product)
        return Call(COINS_BALANCE, {"memberId": uid, "accountType": kind}, parse)

    return {"spot": (coins("UNIFIED", "spot"),), "funding": (coins("FUND", "funding"),)}


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    listed = rows(payload, "result", "subMembers")
    return [listed_subaccount(row, "uid", ("remark", "username")) for row in listed]


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    result = payload.get("result") if isinstance(payload, dict) else None
    cursor = result.get("nextCursor") if isinstance(result, dict) else None
    if cursor in (None, "", "0", 0):
        return None
    return params | {"nextCursor": str(cursor)}


# Sources: Bybit's documented error codes.
BODY_CODES = {
    "10002": "clock",  # request time outside the recv_window
    "10000": "maintenance",  # server timeout
    "10016": "maintenance",  # server error / service restarting
    "5004": "maintenance",  # server timeout
    "10006": "rate_limit",
    "10018": "rate_limit",
}

ADAPTER = Adapter(
    id="bybit",
    name="Bybit",
    wallets={
        "spot": (
            Call("private_get_v5_account_wallet_balance", {"accountType": "UNIFIED"}, unified),
        ),
        "funding": (
            Call(
                "private_get_v5_asset_transfer_query_account_coins_balance",
                {"accountType": "FUND"},
                rows_field(("result", "balance"), "coin", "walletBalance", "funding"),
            ),
        ),
        "earn": (
            Call(
                "private_get_v5_earn_position",
                {"category": "FlexibleSaving"},
                rows_field(("result", "list"), "coin", "amount", "earn", ("productId",)),
            ),
            Call(
                "private_get_v5_earn_position",
                {"category": "OnChain"},
                rows_field(("result", "list"), "coin", "amount", "staking", ("productId",)),
            ),
        ),
    },
    ticker_last=("lastPrice",),
    market_options={"fetchMarkets": {"types": ["spot"]}},
    permissions=PermissionCall("private_get_v5_user_query_api", permissions),
    envelope="retCode",
    body_error_kind=coded_errors("retCode", BODY_CODES),
    subaccounts=SubAccounts(
        listing="private_get_v5_user_submembers",
        params={"pageSize": "100"},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="Bybit gives a master key a sub-member's wallet balances only: its open "
        "positions' unrealised PnL, its borrowing and its Earn are not read.",
    ),
)
