"""krakenfutures: the /accounts wallets (cash, flex, single-collateral margin accounts) and the
instruments, on futures.kraken.com/derivatives/api/v3.

Traced by running ccxt against the emulator: loading markets asks for the instruments only
(ccxt has no currencies call for Kraken Futures); every balance comes from /accounts; no spot
markets, so no tickers are asked. Amounts are JSON numbers, as the documented API sends them
(written from the scenario's exact decimal text).

Scenario wallets, with the codes as Kraken Futures spells them: "cash" (the holding wallet,
lower-case: xbt, usd), "flex" (the multi-collateral wallet, upper-case: XBT, USD; quantity =
free + locked - borrowed; the upl of its entries, summed, is the wallet's unrealised PnL in USD)
and "single" (single-collateral margin accounts by currency: xbt -> fi_xbtusd; free + locked is
the balance, upl the account's PnL, pv = balance + upl).

The signature is Kraken Futures' Authent header: base64 HMAC-SHA512, keyed with the
base64-decoded secret, of SHA-256(postData + the path from /api/ on). An unknown or revoked key
or a wrong signature answers {"result": "error", "error": "authenticationError"} with 401.

Sub-accounts (the scenario's, ids as accountUids): GET /subaccounts lists them all in one
answer with their holding accounts ("cash"), flex account ("flex": currencies as a list, codes
lower-case, the PnL as in /accounts) and single-collateral accounts ("single": availableMargin
only, free + upl here). The API has no per-sub-account balance call, so no unknown-id error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from decimal import Decimal
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    same,
)
from sandbox.emulator.deribit import number, rpc_body
from sandbox.emulator.scenario import Account, Holding, Scenario, SubAccount

NAME = "krakenfutures"
HOST = "futures.kraken.com"
PREFIX = "/derivatives"
ZERO = Decimal(0)


def server_time() -> str:
    return "2026-01-01T00:00:00.000Z"


def answer(payload: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, rpc_body(payload | {"serverTime": server_time()}).encode())


def ok(payload: dict[str, Any]) -> Reply:
    return answer({"result": "success", **payload})


def error(message: str, status: int = 401) -> Reply:
    return answer({"result": "error", "error": message}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("APIKey"))
    if account is None or account.revoked:
        return error("authenticationError")
    if not same(signature(account.secret, request), request.header("Authent")):
        return error("authenticationError")
    return account


def signature(secret: str, request: Request) -> str:
    try:
        key = base64.b64decode(secret, validate=True)
    except binascii.Error:
        return ""
    path = request.path.removeprefix(PREFIX)  # signed from /api/ on
    digest = hashlib.sha256((request.raw_query + path).encode()).digest()
    return base64.b64encode(hmac.new(key, digest, hashlib.sha512).digest()).decode()


INSTRUMENTS = (
    ("PF_XBTUSD", "flexible_futures", "BTC"),
    ("PF_ETHUSD", "flexible_futures", "ETH"),
    ("PI_XBTUSD", "futures_inverse", "BTC"),
)


def instrument(symbol: str, kind: str, base: str) -> dict[str, Any]:
    return {
        "symbol": symbol, "type": kind, "underlying": f"rr_{symbol[3:].lower()}",
        "tradeable": True, "tickSize": number("0.5"), "contractSize": number("1"),
        "impactMidSize": number("1"), "maxPositionSize": number("1000000"),
        "openingDate": "2022-01-01T00:00:00.000Z", "fundingRateCoefficient": number("8"),
        "maxRelativeFundingRate": number("0.001"), "isin": "GB00J62YGL67",
        "contractValueTradePrecision": number("4"), "postOnly": False,
        "feeScheduleUid": "eef90775-995b-4596-9257-0917f6134766", "mtf": False,
        "base": base, "quote": "USD", "pair": f"{base}:USD", "category": "", "tags": [],
        "tradfi": False,
        "marginLevels": [{"contracts": 0, "initialMargin": number("0.02"),
                          "maintenanceMargin": number("0.01")}],
        "retailMarginLevels": [{"contracts": 0, "initialMargin": number("0.5"),
                                "maintenanceMargin": number("0.25")}],
    }  # fmt: skip


def instruments(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok({"instruments": [instrument(*row) for row in INSTRUMENTS]})


def cash_account(wallet: dict[str, Holding]) -> dict[str, Any]:
    return {
        "type": "cashAccount",
        "balances": {code: number(h.total) for code, h in wallet.items()},
    }


def flex_account(wallet: dict[str, Holding]) -> dict[str, Any]:
    pnl = sum((h.upl for h in wallet.values()), ZERO)
    zero = number("0")
    currencies = {
        code: {"quantity": number(h.net), "value": zero, "collateral": zero,
               "available": number(h.free)}
        for code, h in wallet.items()
    }  # fmt: skip
    # The USD values of the collateral are not priced by the emulator: zeros, but the PnL.
    return {
        "type": "multiCollateralMarginAccount", "currencies": currencies,
        "initialMargin": zero, "initialMarginWithOrders": zero, "maintenanceMargin": zero,
        "balanceValue": zero, "portfolioValue": number(pnl), "collateralValue": zero,
        "pnl": number(pnl), "unrealizedFunding": zero, "totalUnrealized": number(pnl),
        "totalUnrealizedAsMargin": number(pnl), "availableMargin": zero,
        "marginEquity": number(pnl),
    }  # fmt: skip


def margin_account(code: str, h: Holding) -> dict[str, Any]:
    zero = number("0")
    requirements = {"im": zero, "mm": zero, "lt": zero, "tt": zero}
    return {
        "type": "marginAccount", "currency": code,
        "balances": {code: number(h.total), f"fi_{code.strip()}usd_260327": zero},
        "auxiliary": {"usd": zero, "pv": number(h.total + h.upl), "pnl": number(h.upl),
                      "af": number(h.free), "funding": zero},
        "marginRequirements": requirements, "triggerEstimates": dict(requirements),
    }  # fmt: skip


def accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    found: dict[str, Any] = {}
    if "cash" in account.balances:
        found["cash"] = cash_account(account.wallet("cash"))
    if "flex" in account.balances:
        found["flex"] = flex_account(account.wallet("flex"))
    for code, holding in account.wallet("single").items():
        found[f"fi_{code.strip().lower()}usd"] = margin_account(code, holding)
    return ok({"accounts": found})


MASTER_UID = "6f7c2a1e-0b4d-4c1e-9a51-5e0f5d1c0001"


def holding_accounts(wallet: dict[str, Holding]) -> list[dict[str, Any]]:
    return [{"currency": code, "amount": number(h.total)} for code, h in wallet.items()]


def flex_summary(wallet: dict[str, Holding]) -> dict[str, Any]:
    """The listing's flexAccount: as /accounts' flex, its currencies a list of lower-case codes."""
    flex = flex_account(wallet)
    currencies = [{"currency": code.lower(), **entry} for code, entry in flex["currencies"].items()]
    return {k: v for k, v in flex.items() if k != "type"} | {"currencies": currencies}


def subaccount_entry(sub: SubAccount) -> dict[str, Any]:
    futures = [
        {"name": f"f-{code.strip().lower()}:usd", "availableMargin": number(h.free + h.upl)}
        for code, h in sub.wallet("single").items()
    ]
    return {
        "accountUid": sub.id, "email": f"{sub.id[:8]}@fund.test", "fullName": sub.name,
        "holdingAccounts": holding_accounts(sub.wallet("cash")),
        "futuresAccounts": futures, "flexAccount": flex_summary(sub.wallet("flex")),
    }  # fmt: skip


def subaccounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every sub-account with its balances, in one answer (the API has no paging)."""
    listed = [subaccount_entry(sub) for sub in account.subaccounts.values()]
    return ok({"masterAccountUid": MASTER_UID, "subaccounts": listed})


ROUTES = {
    ("GET", f"{PREFIX}/api/v3/instruments"): Route(MARKETS, instruments),
    ("GET", f"{PREFIX}/api/v3/accounts"): Route(BALANCE, accounts, private=True),
    ("GET", f"{PREFIX}/api/v3/subaccounts"): Route(BALANCE, subaccounts, private=True),
}

SPEC = ExchangeSpec(NAME, "APIKey", ROUTES, authenticate)
