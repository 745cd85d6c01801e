"""KuCoin: funding (main), spot (trade), cross and isolated margin with their liabilities,
futures with the unrealised PnL apart, and earn/staking with their lock end dates.

Wallets, products and the amount field used (negative = a debt to the exchange):

kucoin    spot      GET /api/v1/accounts               type trade, trade_hf   spot      balance
          funding   the same answer (one request)      type main              funding   balance
          margin    GET /api/v3/margin/accounts ALL    cross      margin    total - liability
                    GET /api/v3/isolated/accounts ALL  isolated   margin    (- interest)
                                                        (base and quote of each pair)
          futures   GET /api/v1/account-overview (api-futures host), currency USDT, USDC, XBT:
                    futures   marginBalance (the wallet) + the rest of accountEquity, the
                    unrealised PnL, as its own row: both futures, so they merge into the
                    equity, the claim; spot is never touched by open positions
          earn      GET /api/v1/earn/hold-assets (paged)  DEMAND, ACTIVITY    earn   holdAmount
                                                          STAKING, KCS_STAKING, ETH2: staking
                    a lockEndTime, when reported, is the date the holding is locked until

Rows are taken once by the exchange's own id (an account's `id`, margin "cross <currency>" or
"isolated <symbol> <currency>", futures the currency, earn the `orderId`). Accounts of other
types in /api/v1/accounts (margin, isolated, their _v2 variants) are not read there: the margin
endpoints report them with their liabilities, and reading both would count them twice. Cross and
isolated margin are asked with queryType ALL, the aggregate of the classic and high-frequency
accounts, as the web shows it. The debt is `liability` plus `interest` where an answer reports
the interest apart (a recorded isolated answer does, as ccxt reads it); the current documents
give `liability` as principal + interest (liabilityPrincipal, liabilityInterest) and no
`interest` field.

Futures amounts are JSON numbers in KuCoin's futures API: they are read from the raw body as
the digits sent, never through floats. Each currency is one request (the endpoint answers for
one settlement currency); a currency never used answers zeros.

Sub-accounts, read with the master key (the sub-account's userId is its id; its remarks, else
its subName, the name shown):

listing   GET /api/v2/sub/user (currentPage, pageSize 100)   items[].userId, remarks, subName;
                                                             pages until currentPage = totalPage
spot      GET /api/v1/sub-accounts/{subUserId}   tradeAccounts   spot      balance
funding   the same answer (one request)          mainAccounts    funding   balance

That answer gives a sub-account's margin as balances only (no liability), so its margin is not
read: booking the gross holding without the debt would overstate it. Its futures are not read
either: the master-key call (/api/v1/account-overview-all on the futures host) names
sub-accounts by subName, not the userId the balance call takes; nor its Earn (no master-key
call). Doubtful: KuCoin does not document the answer for an unknown subUserId; the emulator
answers a parameter error (400100), a fault like any other.

Not read: the unified trading account (UTA) endpoints, and options (KuCoin has no options API for
them here).

Key permissions come from GET /api/v1/user/api-key: `permission` is a comma list (General,
Spot, Margin, Futures, Earn, InnerTransfer, Transfer, Withdrawal, ...): Spot, Margin or Futures
(or the legacy Trade) can trade; Withdrawal (or the legacy Transfer, which included withdrawals)
can withdraw.

Every answer carries "code" ("200000" for success): a JSON object without it is malformed. Body
codes: 400002 (KC-API-TIMESTAMP differs from the server's) is 'clock', 429000 'rate_limit',
500000 'maintenance'; a wrong key, passphrase or signature (400003/400004/400005) is classed by
ccxt's table as an authentication error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
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
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.payload import (
    EXACT,
    amount,
    amount_problem,
    currency,
    dig,
    rows,
    shown,
    text,
)
from portfolio.exchanges.rows import (
    AmountFields,
    EquitySplit,
    FetchedBalance,
    Lock,
    Page,
    Row,
    row_of,
    split_equity,
)

# Account types of /api/v1/accounts and the wallet each belongs to.
SPOT_TYPES = frozenset({"trade", "trade_hf"})
FUNDING_TYPES = frozenset({"main"})
FUTURES_CURRENCIES = ("USDT", "USDC", "XBT")
FUTURES = EquitySplit("accountEquity", "unrealisedPNL", wallet="marginBalance")
STAKING_CATEGORIES = frozenset({"STAKING", "KCS_STAKING", "ETH2"})
EARN_PAGE_SIZE = 500  # the most KuCoin returns per page


def accounts_of(types: frozenset[str], product: str) -> Any:
    """The rows of /api/v1/accounts whose type belongs to the wallet, `balance` each."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in rows(page.data, "data"):
            if text(row, "type") in types:
                found = row_of(client, row, "currency", product, AmountFields(("balance",)))
                yield Row(text(row, "id"), found.balance)

    return parse


def margin_row(client: Any, row: dict[str, Any], row_id: str) -> Row:
    """total - liability - interest: negative when more is owed than held."""
    reported, code = currency(client, row.get("currency"), "currency")
    owed = amount(row, code, "liability", optional=("interest",))
    net = EXACT.subtract(amount(row, code, "total"), owed)
    problem = amount_problem(net, signed=True)
    if problem:
        raise MalformedAnswer(f"total - liability - interest of {code} is '{net}', {problem}")
    return Row(f"{row_id} {reported}", FetchedBalance(reported, code, "margin", net))


def cross_margin(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data", "accounts"):
        yield margin_row(client, row, "cross")


def isolated_margin(client: Any, page: Page) -> Iterator[Row]:
    for position in rows(page.data, "data", "assets"):
        symbol = text(position, "symbol")
        for side in ("baseAsset", "quoteAsset"):
            yield margin_row(client, dig(position, side, kind=dict), f"isolated {symbol}")


def exact_document(page: Page) -> Any:
    """The body with every JSON number kept as the digits sent (KuCoin's futures API answers
    numbers, which ccxt's parse has turned into floats)."""
    try:
        return json.loads(page.raw, parse_float=str, parse_int=str)
    except ValueError:
        raise Malformed("the futures account answer is not JSON") from None


def futures(client: Any, page: Page) -> Iterator[Row]:
    row = dig(exact_document(page), "data", kind=dict)
    yield from split_equity(client, row, "currency", "futures", FUTURES, signed=True)


def lock_of(row: dict[str, Any], held: Decimal) -> tuple[Lock, ...]:
    """The lock end KuCoin reports (ms since the epoch), or none for a flexible product."""
    end = row.get("lockEndTime")
    if end in (None, "", 0):
        return ()
    if isinstance(end, bool) or not isinstance(end, int | str) or not str(end).isdigit():
        raise Malformed(f"lockEndTime is {shown(end)}, not a time in milliseconds")
    return (Lock(held, datetime.fromtimestamp(int(end) / 1000, tz=UTC)),)


def earn(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data", "items"):
        category = str(row.get("productCategory") or "")
        product = "staking" if category in STAKING_CATEGORIES else "earn"
        found = row_of(client, row, "currency", product, AmountFields(("holdAmount",)))
        locks = lock_of(row, found.balance.amount)
        yield Row(text(row, "orderId"), replace(found.balance, locks=locks))


def next_earn_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    data = payload.get("data") if isinstance(payload, dict) else None
    current, total = (data.get(k) for k in ("currentPage", "totalPage")) if data else (0, 0)
    if not isinstance(current, int) or not isinstance(total, int) or current >= total:
        return None
    return params | {"currentPage": current + 1}


TRADE = frozenset({"Spot", "Margin", "Futures", "Trade"})
WITHDRAW = frozenset({"Withdrawal", "Transfer"})


def permissions(payload: Any) -> dict[str, bool]:
    granted = dig(payload, "data", kind=dict).get("permission")
    if not isinstance(granted, str) or not granted.strip():
        raise PermissionsUnreadable(f"permission is {shown(granted)}")
    names = {name.strip() for name in granted.split(",")}
    return {"read": True, "trade": bool(names & TRADE), "withdraw": bool(names & WITHDRAW)}


def sub_accounts_of(field: str, product: str) -> Any:
    """The sub-account detail's rows under `field` (tradeAccounts, mainAccounts), `balance`
    each; the row id is the list and the currency, as the master's are one per type."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in rows(page.data, "data", field):
            found = row_of(client, row, "currency", product, AmountFields(("balance",)))
            yield Row(f"{field} {found.row_id}", found.balance)

    return parse


SUB_DETAIL = "private_get_sub_accounts_subuserid"


def subaccount_wallets(user_id: str) -> dict[str, tuple[Call, ...]]:
    params = {"subUserId": user_id}
    return {
        "spot": (Call(SUB_DETAIL, params, sub_accounts_of("tradeAccounts", "spot")),),
        "funding": (Call(SUB_DETAIL, params, sub_accounts_of("mainAccounts", "funding")),),
    }


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    listed = rows(payload, "data", "items")
    return [listed_subaccount(row, "userId", ("remarks", "subName")) for row in listed]


SUBACCOUNT_PAGE = 100  # the most /api/v2/sub/user returns per page

# Sources: KuCoin's documented error codes and ccxt's table for them.
BODY_CODES = {
    "400002": "clock",  # KC-API-TIMESTAMP invalid: differs from the server time
    "429000": "rate_limit",  # too many requests
    "500000": "maintenance",  # internal server error
}

ADAPTER = Adapter(
    id="kucoin",
    name="KuCoin",
    wallets={
        "spot": (Call("private_get_accounts", {}, accounts_of(SPOT_TYPES, "spot")),),
        "funding": (Call("private_get_accounts", {}, accounts_of(FUNDING_TYPES, "funding")),),
        "margin": (
            Call("private_get_margin_accounts", {"queryType": "ALL"}, cross_margin),
            Call("private_get_isolated_accounts", {"queryType": "ALL"}, isolated_margin),
        ),
        "futures": tuple(
            Call("futuresprivate_get_account_overview", {"currency": code}, futures)
            for code in FUTURES_CURRENCIES
        ),
        "earn": (
            Call(
                "earn_get_earn_hold_assets",
                {"currentPage": 1, "pageSize": EARN_PAGE_SIZE},
                earn,
                next_earn_page,
            ),
        ),
    },
    ticker_last=("last",),
    # Spot symbols only, without loading every ticker for the fees.
    market_options={"fetchMarkets": {"types": ["spot"], "fetchTickersFees": False}},
    permissions=PermissionCall("private_get_user_api_key", permissions),
    envelope="code",
    body_error_kind=coded_errors("code", BODY_CODES),
    subaccounts=SubAccounts(
        listing="private_get_sub_user",
        params={"currentPage": 1, "pageSize": SUBACCOUNT_PAGE},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=next_earn_page,  # the same currentPage / totalPage paging
        not_read="KuCoin's master-key call gives a sub-account's margin without its debt, and "
        "names its futures by another id: neither is read, nor its Earn.",
    ),
)
