"""MEXC: the spot account and the futures (contract) account.

Wallets, products and the amount field used (negative = a debt to the exchange):

mexc      spot      GET /api/v3/account                    spot      free + locked
          futures   GET /api/v1/private/account/assets     futures   the wallet, equity -
                    unrealized, and the open positions, unrealized, as two rows of the same
                    product: they merge into `equity`, the claim on the exchange

A row repeated with the same asset (futures: currency) is taken once.

Unrealised PnL apart, as for binance USDⓈ-M: the futures wallet and its PnL are both `futures`,
so spot is neither inflated nor deflated by open positions and the futures holding is `equity`.
`equity` is required; a missing or empty `unrealized` reads as no open position. The contract
API sends its amounts as JSON numbers (MEXC's documentation), which ccxt parses into floats: the
futures rows are read again from the raw body, each number as it was written, never through a
float.

Not read: isolated margin (GET /api/v3/margin/isolated/account answers only for the pairs named
in `symbols`, so a pair left out would silently be missing; MEXC has wound the product down), and
earn/savings (no documented API endpoint).

Sub-accounts, read with the master key (the sub-account's name is its id and its name: the listing
sends no note or remark):

listing   GET /api/v3/sub-account/list (page, limit 200)  subAccounts[].subAccount; a full page
                                                            asks for the next one
spot      GET /api/v3/sub-account/asset?subAccount=   spot      free + locked (as the master's)
          &accountType=SPOT

MEXC documents accountType SPOT only ("FUTURES" is named but not supported): a master key cannot
read a sub-account's futures (contract) account, which is not read. An unknown name is an error
body (140001 'sub account does not exist'), a fault like any other.

Key permissions come from GET /api/v3/apiKeyInfo, which names the key asked about (`accessKey`,
the key itself) and lists its scopes: SPOT_DEAL_WRITE or CONTRACT_DEAL_WRITE can trade,
SPOT_WITHDRAW_WRITE can withdraw. The account's own canTrade/canWithdraw flags in
/api/v3/account describe the account, not the key, and are not used.

Spot errors are {"code": ..., "msg": ...} with a 4xx status, contract errors {"success": false,
"code": ...} in a 200. 700003 (timestamp outside the recvWindow) and 10073 (invalid
Request-Time) are 'clock'; 10072 (API key invalid: ccxt raises BadRequest) and 700002 (signature
not valid) 'authentication'; 801/604/501/503/500 'maintenance'; 429/510 'rate_limit'.
"""

from __future__ import annotations

import json
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
from portfolio.exchanges.errors import Malformed, PermissionsUnreadable
from portfolio.exchanges.payload import dig, rows, shown
from portfolio.exchanges.rows import (
    AmountFields,
    EquitySplit,
    Page,
    Row,
    row_of,
    split_equity,
)


def spot(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "balances"):
        yield row_of(client, row, "asset", "spot", AmountFields(("free", "locked")))


FUTURES = EquitySplit("equity", "unrealized")


def exact_document(page: Page) -> Any:
    """The body as sent, its numbers kept as their digits (strings), never floats."""
    dig(page.data, "data", kind=list)  # the structure, as ccxt read it
    try:
        return json.loads(page.raw, parse_float=str, parse_int=str)
    except ValueError:
        raise Malformed("the body is not JSON") from None


def futures(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(exact_document(page), "data"):
        yield from split_equity(client, row, "currency", "futures", FUTURES, signed=True)


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    return [listed_subaccount(row, "subAccount", ()) for row in rows(payload, "subAccounts")]


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """No total is sent: a full page may have a successor, a short one is the last."""
    listed = payload.get("subAccounts") if isinstance(payload, dict) else None
    if not isinstance(listed, list) or len(listed) < int(params["limit"]):
        return None
    return params | {"page": int(params["page"]) + 1}


def subaccount_wallets(name: str) -> dict[str, tuple[Call, ...]]:
    # The answer is the master's spot payload ({"balances": [{asset, free, locked}]}).
    params = {"subAccount": name, "accountType": "SPOT"}
    return {"spot": (Call("spot_private_get_sub_account_asset", params, spot),)}


TRADE_SCOPES = frozenset({"SPOT_DEAL_WRITE", "CONTRACT_DEAL_WRITE"})
WITHDRAW_SCOPES = frozenset({"SPOT_WITHDRAW_WRITE"})


def permissions(payload: Any) -> dict[str, bool]:
    info = dig(payload, kind=dict)
    scopes = info.get("permissions")
    if not isinstance(scopes, str) or not scopes.strip():
        raise PermissionsUnreadable(f"permissions is {shown(scopes)}")
    granted = {s.strip().upper() for s in scopes.split(",")}
    return {
        "read": bool(granted & {"SPOT_ACCOUNT_READ", "CONTRACT_ACCOUNT_READ"}),
        "trade": bool(granted & TRADE_SCOPES),
        "withdraw": bool(granted & WITHDRAW_SCOPES),
    }


def key_asked_about(client: Any) -> dict[str, Any]:
    return {"accessKey": client.apiKey}


# Sources: MEXC's documented error codes (spot v3 and contract), with ccxt's table.
BODY_CODES = {
    "700003": "clock",  # timestamp outside the recvWindow
    "10073": "clock",  # invalid Request-Time (contract)
    "10072": "authentication",  # API key invalid; ccxt raises BadRequest
    "700002": "authentication",  # signature not valid (or the secret is wrong)
    "801": "maintenance",  # system under maintenance
    "604": "maintenance",  # feature under maintenance
    "501": "maintenance",  # system busy
    "503": "maintenance",  # service not available
    "500": "maintenance",  # internal error
    "429": "rate_limit",
    "510": "rate_limit",  # requests too frequent
}

ADAPTER = Adapter(
    id="mexc",
    name="MEXC",
    wallets={
        "spot": (Call("spot_private_get_account", {}, spot),),
        "futures": (Call("contract_private_get_account_assets", {}, futures),),
    },
    ticker_last=("lastPrice",),
    # ccxt loads spot exchangeInfo and the contract detail; without credentials it skips the
    # (signed) currencies request, and the markets loader has none.
    market_options={},
    permissions=PermissionCall("spot_private_get_apikeyinfo", permissions, key_asked_about),
    body_error_kind=coded_errors("code", BODY_CODES),
    subaccounts=SubAccounts(
        listing="spot_private_get_sub_account_list",
        params={"page": 1, "limit": 200},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="MEXC gives a master key a sub-account's spot account only: its futures "
        "(contract) account is not read.",
    ),
)
