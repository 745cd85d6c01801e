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
earn/savings (no documented API endpoint). Sub-accounts are listed by GET
/api/v3/sub-account/list (master key) and not read here.

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

from portfolio.exchanges.adapter import Adapter, Call, PermissionCall, coded_errors
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
)
