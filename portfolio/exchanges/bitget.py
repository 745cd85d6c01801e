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

Sub-accounts, read with the master key (the virtual sub-account's subAccountUid is its id; its
label, else its subAccountName, the name shown):

listing   GET /api/v2/user/virtual-subaccount-list (limit 500)   subAccountList[].subAccountUid,
                                        label, subAccountName; a full page asks for the next
                                        (idLessThan = endId)
spot      GET /api/v2/spot/account/subaccount-assets (limit 50, every sub-account's spot; pages
          by idLessThan = the last row's id)   the rows of userId = the id   spot   available +
                                               frozen + locked
futures   GET /api/v2/mix/account/sub-account-assets?productType=USDT-FUTURES (every
          sub-account's)   the rows of userId = the id   futures   as the master's (the same
                                                                   parser, accountEquity split)

Both balance calls answer for every sub-account at once and have no per-id error: before them
the listing is asked (once per sync) and an id it does not list is a fault in words ("Bitget
lists no sub-account ..."), never an empty sub-account. A full listing page without the id
cannot confirm it either way: a fault too.

Not read for a sub-account: funding, Earn and margin (no master-key call in v2), and COIN- and
USDC-margined futures: Bitget allows sub-account-assets once per 10 s per UID (ccxt's cost 200
makes its limiter wait that long), so a second and third productType would overrun the sync's
deadline every time. Doubtful: only virtual sub-accounts are listed (the v2 master-key listing
of ordinary e-mail sub-accounts is the broker API's); the cursor field of subaccount-assets is
read as `id`, as Bitget's parameter text describes it.

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

from portfolio.exchanges.adapter import (
    Adapter,
    Call,
    Listing,
    PermissionCall,
    SubAccountRef,
    SubAccounts,
    coded_errors,
    listed_subaccount,
)
from portfolio.exchanges.errors import ExchangeFault, Malformed, PermissionsUnreadable
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

SUBACCOUNT_PAGE = 500  # the most virtual-subaccount-list returns per page
SUB_SPOT_PAGE = 50  # the most subaccount-assets returns per page
SUBACCOUNT_LIST = "private_user_get_v2_user_virtual_subaccount_list"


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    listed = rows(payload, "data", "subAccountList")
    return [listed_subaccount(row, "subAccountUid", ("label", "subAccountName")) for row in listed]


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """A full page may have more, asked for with idLessThan = its endId."""
    listed = rows(payload, "data", "subAccountList")
    if len(listed) < int(params.get("limit", SUBACCOUNT_PAGE)):
        return None
    end = dig(payload, "data", kind=dict).get("endId")
    if not isinstance(end, str | int) or isinstance(end, bool) or not str(end):
        # The rest of the listing could not be asked for: say so rather than stop short.
        raise Malformed(f"a full page of sub-accounts ends with endId {shown(end)}")
    return params | {"idLessThan": str(end)}


def listed_once(sub_id: str) -> Listing:
    """The listing as a gate: the balance calls answer every sub-account at once, so an id the
    master does not list would read as an empty sub-account; it is a fault instead."""

    def each(payload: Any) -> list[dict[str, Any]]:
        refs = subaccount_refs(payload)
        if any(ref.id == sub_id for ref in refs):
            return [{}]
        if len(refs) >= SUBACCOUNT_PAGE:
            raise Malformed(f"sub-account {sub_id} is not on the first full listing page")
        raise ExchangeFault(
            kind="exchange_error",
            error_class="BadRequest",
            message=f"Bitget lists no sub-account {sub_id} for this key.",
        )

    return Listing(SUBACCOUNT_LIST, {"limit": str(SUBACCOUNT_PAGE)}, each)


def of_user(sub_id: str, path: tuple[str, ...], page: Page) -> list[dict[str, Any]]:
    """The asset rows of one sub-account in an answer that lists every sub-account's."""
    found = []
    for entry in rows(page.data, "data"):
        if str(entry.get("userId")) == sub_id:
            found.extend(rows(entry, *path))
    return found


def sub_spot(sub_id: str) -> Any:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        fields = AmountFields(("available",), optional=("frozen", "locked"))
        for row in of_user(sub_id, ("assetsList",), page):
            yield row_of(client, row, "coin", "spot", fields)

    return parse


def sub_futures(sub_id: str) -> Any:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in of_user(sub_id, ("assetList",), page):
            yield from split_equity(client, row, "marginCoin", "futures", FUTURES, signed=True)

    return parse


def sub_spot_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """A full page may have more, asked for with idLessThan = its last row's id."""
    listed = rows(payload, "data")
    if len(listed) < SUB_SPOT_PAGE:
        return None
    last = listed[-1].get("id")
    if not isinstance(last, str | int) or isinstance(last, bool) or not str(last):
        raise Malformed(f"a full page of sub-account assets ends with id {shown(last)}")
    return params | {"idLessThan": str(last)}


def subaccount_wallets(sub_id: str) -> dict[str, tuple[Call, ...]]:
    gate = listed_once(sub_id)
    spot_call = Call(
        "private_spot_get_v2_spot_account_subaccount_assets",
        {"limit": str(SUB_SPOT_PAGE)},
        sub_spot(sub_id),
        sub_spot_next_page,
        listing=gate,
    )
    futures_call = Call(
        "private_mix_get_v2_mix_account_sub_account_assets",
        {"productType": "USDT-FUTURES"},
        sub_futures(sub_id),
        listing=gate,
    )
    return {"spot": (spot_call,), "futures": (futures_call,)}


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
    subaccounts=SubAccounts(
        listing=SUBACCOUNT_LIST,
        params={"limit": str(SUBACCOUNT_PAGE)},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="Bitget has no master-key call for a sub-account's funding, Earn or margin, and "
        "its COIN- and USDC-margined futures are not read (one such call per 10 s): not read.",
    ),
)
