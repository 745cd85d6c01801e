"""hyperliquid: the public info endpoint, POST /info {"type": ..., "user": ...}, unsigned.

Every call is routed by its body's type (/info/<type>), so faults and stats can tell them
apart, and accounts are found by the `user` address (the scenario's api_key, lower-case). An
address the scenario does not know answers as Hyperliquid does: an empty state, no error.
Spot markets: the scenario's prices; BTC and ETH trade as the Unit tokens UBTC and UETH, and
USDT as USDT0 (pairs quoted in it too), which ccxt maps back to BTC, ETH and USDT.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    json_reply,
    now_ms,
    text_reply,
)
from sandbox.emulator.scenario import ZERO, Account, Holding, Scenario, fmt, split_symbol

NAME = "hyperliquid"
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
WRAPPED = {
    "BTC": ("UBTC", "Unit Bitcoin"),
    "ETH": ("UETH", "Unit Ethereum"),
    "USDT": ("USDT0", "USDT0"),
}
# Every vault deposit in the scenario is locked until this time (2027-01-01T00:00:00Z).
VAULT_LOCKED_UNTIL = 1798761600000
BAD_BODY = "Failed to deserialize the JSON body into the target type"


def body(request: Request) -> dict[str, Any]:
    try:
        found = json.loads(request.text or "null")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def route_path(request: Request) -> str:
    kind = body(request).get("type")
    return f"{request.path}/{kind}" if isinstance(kind, str) and kind else request.path


def account_key(request: Request) -> str:
    user = body(request).get("user")
    return user.lower() if isinstance(user, str) else ""


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    """Nothing is signed: the account is the address's, an empty one when unknown."""
    user = account_key(request)
    if not ADDRESS.fullmatch(user):
        return text_reply(BAD_BODY, 422)
    return scenario.account(NAME, user) or Account(NAME, user, "")


# ------------------------------------------------------------------------------- markets


def token_name(code: str) -> str:
    return WRAPPED.get(code, (code, ""))[0]


def tokens(scenario: Scenario) -> list[dict[str, Any]]:
    listed = {code for symbol in scenario.symbols(NAME) for code in split_symbol(symbol)}
    codes = ["USDC", *sorted(listed - {"USDC"})]
    return [
        {
            "name": token_name(code), "szDecimals": 5 if code in WRAPPED else 2,
            "weiDecimals": 8, "index": index, "tokenId": f"0x{index:032x}",
            "isCanonical": index < 2, "evmContract": None,
            "fullName": WRAPPED.get(code, ("", None))[1], "deployerTradingFeeShare": "0.0",
        }
        for index, code in enumerate(codes)
    ]  # fmt: skip


def spot_meta(scenario: Scenario) -> dict[str, Any]:
    listed = tokens(scenario)
    index_of = {t["name"]: t["index"] for t in listed}
    universe = []
    for index, symbol in enumerate(sorted(scenario.symbols(NAME))):
        base, quote = split_symbol(symbol)
        pair = [index_of[token_name(base)], index_of[token_name(quote)]]
        name = f"{base}/{quote}" if index == 0 else f"@{index}"
        universe.append({"tokens": pair, "name": name, "index": index, "isCanonical": index == 0})
    return {"universe": universe, "tokens": listed}


def asset_context(symbol: str, price: Decimal) -> dict[str, Any]:
    base, _ = split_symbol(symbol)
    mark = fmt(price)
    return {
        "prevDayPx": mark, "dayNtlVlm": "1000000.0", "markPx": mark, "midPx": mark,
        "circulatingSupply": "1000000.0", "coin": token_name(base),
        "totalSupply": "1000000.0", "dayBaseVlm": "1000.0",
    }  # fmt: skip


def spot_meta_reply(request: Request, scenario: Scenario, _: Any) -> Reply:
    return json_reply(spot_meta(scenario))


def spot_contexts(request: Request, scenario: Scenario, _: Any) -> Reply:
    prices = scenario.symbols(NAME)
    contexts = [asset_context(s, prices[s]) for s in sorted(prices)]
    return json_reply([spot_meta(scenario), contexts])


# ------------------------------------------------------------------------------- balances


def spot_state(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        {
            "balances": [
                {"coin": code, "token": index, "hold": fmt(h.locked), "total": fmt(h.total),
                 "entryNtl": "0.0"}
                for index, (code, h) in enumerate(account.wallet("spot").items())
            ]
        }
    )  # fmt: skip


def position(coin: str, h: Holding) -> dict[str, Any]:
    return {
        "type": "oneWay",
        "position": {
            "coin": coin, "szi": fmt(h.total or Decimal(1)), "entryPx": "100.0",
            "leverage": {"type": "cross", "value": 10}, "positionValue": "100.0",
            "unrealizedPnl": fmt(h.upl), "returnOnEquity": "0.0", "liquidationPx": None,
            "marginUsed": "10.0", "maxLeverage": 50,
            "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
        },
    }  # fmt: skip


def perps_state(request: Request, scenario: Scenario, account: Account) -> Reply:
    """USDC is the collateral; every other coin an open position with its unrealised PnL."""
    wallet = account.wallet("perps")
    collateral = wallet.get("USDC", Holding(ZERO)).total
    positions = [position(c, h) for c, h in wallet.items() if c != "USDC"]
    value = collateral + sum((h.upl for c, h in wallet.items() if c != "USDC"), ZERO)
    summary = {
        "accountValue": fmt(value), "totalNtlPos": "0.0", "totalRawUsd": fmt(collateral),
        "totalMarginUsed": "0.0",
    }  # fmt: skip
    return json_reply(
        {
            "marginSummary": summary, "crossMarginSummary": summary,
            "crossMaintenanceMarginUsed": "0.0", "withdrawable": fmt(collateral),
            "assetPositions": positions, "time": now_ms(),
        }
    )  # fmt: skip


def delegator_summary(request: Request, scenario: Scenario, account: Account) -> Reply:
    staked = account.wallet("staking").get("HYPE", Holding(ZERO))
    pending = account.wallet("unstaking").get("HYPE", Holding(ZERO)).total
    return json_reply(
        {
            "delegated": fmt(staked.free), "undelegated": fmt(staked.locked),
            "totalPendingWithdrawal": fmt(pending), "nPendingWithdrawals": 1 if pending else 0,
        }
    )  # fmt: skip


def vault_equities(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"vaultAddress": vault, "equity": fmt(h.total),
             "lockedUntilTimestamp": VAULT_LOCKED_UNTIL}
            for vault, h in account.wallet("vaults").items()
        ]
    )  # fmt: skip


ROUTES = {
    ("POST", "/info/spotMeta"): Route(MARKETS, spot_meta_reply),
    # Market loading and fetch_tickers send the same request; it carries the prices.
    ("POST", "/info/spotMetaAndAssetCtxs"): Route(TICKER, spot_contexts),
    ("POST", "/info/spotClearinghouseState"): Route(BALANCE, spot_state, private=True),
    ("POST", "/info/clearinghouseState"): Route(BALANCE, perps_state, private=True),
    ("POST", "/info/delegatorSummary"): Route(BALANCE, delegator_summary, private=True),
    ("POST", "/info/userVaultEquities"): Route(BALANCE, vault_equities, private=True),
}

SPEC = ExchangeSpec(NAME, "", ROUTES, authenticate, route_path=route_path, account_key=account_key)
