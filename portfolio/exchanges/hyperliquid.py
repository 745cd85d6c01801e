"""Hyperliquid: read by wallet address alone, through the public info endpoint.

Every read is POST /info {"type": ..., "user": <address>}: unsigned, so the account form asks
for the wallet address only (0x + 40 hex digits), never a private key; the address sits in the
encrypted credentials like any other exchange's key, though it is no secret.

Wallets, products and the amount field used (negative = a debt to the exchange):

hyperliquid spot    spotClearinghouseState  spot     balances[].total (hold is part of it);
                                                     Unit tokens (UBTC, UETH...) read as the
                                                     coin they wrap, as ccxt's markets do
            futures clearinghouseState      futures  the perps account in USDC, split in two:
                    marginSummary.accountValue - the positions' unrealizedPnl (the collateral)
                    and each assetPositions[].position.unrealizedPnl (either sign), as rows of
                    the same product: they merge into accountValue, the claim
            earn    delegatorSummary        staking  HYPE delegated + undelegated +
                                                     totalPendingWithdrawal (the seven-day
                                                     unstaking queue: still not in spot)
                    userVaultEquities       earn     USDC equity per vault, locked until its
                                                     lockedUntilTimestamp

A row repeated with the same coin (positions: coin; vaults: vaultAddress) is taken once.

Not read: HIP-3 dexes' perps accounts (clearinghouseState with a `dex`), the per-validator
delegations (their one-day lock is short, and the summary already totals them), sub-accounts
and vaults the address leads (each is an address of its own: its own location). The unstaking
queue's end dates are not in the summary, so it carries no lock; vault lock dates are exact.

Account abstraction: under a unified or portfolio-margin account (userAbstraction, not read)
Hyperliquid reports every balance in spotClearinghouseState and the perps state holds no
collateral of its own, so its accountValue less the positions' PnL is then about zero and
nothing is counted twice; this reading follows third-party descriptions of the modes and has
not been checked against a real unified account's answer.

Hyperliquid does not report permissions: an address can only be read (None).

Errors: the info endpoint has no error body of its own; a 429 is a rate limit and a 5xx
maintenance through the shared status rules; an unknown address answers an empty state (no
error), so a mistyped address syncs as empty and the sync holds it for confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call
from portfolio.exchanges.errors import MalformedAnswer
from portfolio.exchanges.payload import (
    EXACT,
    ZERO,
    amount,
    amount_problem,
    currency,
    dig,
    rows,
    shown,
    text,
)
from portfolio.exchanges.rows import FetchedBalance, Lock, Page, Row

INFO = "public_post_info"
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def is_address(value: str) -> bool:
    return ADDRESS.fullmatch(value) is not None


def usdc(client: Any) -> tuple[str, str]:
    return currency(client, "USDC", "coin")


def spot(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "balances"):
        reported, code = currency(client, row.get("coin"), "coin")
        # Unit tokens (UBTC) are the coin they wrap: ccxt's spot markets are named by it.
        code = str(client.update_spot_currency_code(code)).upper()
        value = amount(row, code, "total")
        yield Row(reported, FetchedBalance(reported, code, "spot", value))


def perps(client: Any, page: Page) -> Iterator[Row]:
    """The perps account's value in USDC: the collateral and each position's unrealised PnL
    as rows of their own, adding up to accountValue exactly."""
    reported, code = usdc(client)
    summary = dig(page.data, "marginSummary", kind=dict)
    value = amount(summary, code, "accountValue", signed=True)
    pnl_total = ZERO
    for entry in rows(page.data, "assetPositions"):
        position = dig(entry, "position", kind=dict)
        coin = text(position, "coin")
        pnl = amount(position, code, "unrealizedPnl", signed=True)
        pnl_total = EXACT.add(pnl_total, pnl)
        yield Row(f"position {coin}", FetchedBalance(reported, code, "futures", pnl))
    collateral = EXACT.subtract(value, pnl_total)
    problem = amount_problem(collateral, signed=True)
    if problem:
        raise MalformedAnswer(
            f"accountValue - unrealizedPnl of {code} is '{collateral}', {problem}"
        )
    yield Row("accountValue", FetchedBalance(reported, code, "futures", collateral))


STAKING_FIELDS = ("delegated", "undelegated", "totalPendingWithdrawal")


def staking(client: Any, page: Page) -> Iterator[Row]:
    summary = dig(page.data, kind=dict)
    reported, code = currency(client, "HYPE", "coin")
    for name in STAKING_FIELDS:
        value = amount(summary, code, name)
        yield Row(name, FetchedBalance(reported, code, "staking", value))


def vaults(client: Any, page: Page) -> Iterator[Row]:
    reported, code = usdc(client)
    for row in rows(page.data):
        vault = text(row, "vaultAddress")
        value = amount(row, code, "equity")
        until = locked_until(row.get("lockedUntilTimestamp"), vault)
        locks = (Lock(value, until),) if until is not None and value else ()
        yield Row(f"vault {vault}", FetchedBalance(reported, code, "earn", value, locks))


def locked_until(raw: Any, vault: str) -> datetime | None:
    """The lock's end, from milliseconds since the epoch; None when not given."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise MalformedAnswer(f"lockedUntilTimestamp of vault {vault} is {shown(raw)}")
    return datetime.fromtimestamp(0, tz=UTC) + timedelta(milliseconds=int(raw))


def info(kind: str, parse: Any) -> Call:
    return Call(INFO, {"type": kind}, parse, address="user")


ADAPTER = Adapter(
    id="hyperliquid",
    name="Hyperliquid",
    wallets={
        "spot": (info("spotClearinghouseState", spot),),
        "futures": (info("clearinghouseState", perps),),
        "earn": (info("delegatorSummary", staking), info("userVaultEquities", vaults)),
    },
    # The spot asset contexts carry no last trade: the mark price is Hyperliquid's own price.
    ticker_last=("markPx",),
    # Spot markets only (their currencies come with them): the perps are priced in USDC. The
    # HIP-3 name table is set only when HIP-3 markets load, but handing loaded markets to a new
    # instance (set_markets_from_exchange) copies it: it must exist, empty.
    market_options={"fetchMarkets": {"types": ["spot"]}, "hip3TokensByName": {}},
    credentials=("walletAddress",),
)
