"""Every exchange adapter x every fault kind, through the whole sync service.

Each case starts from a good sync, applies one fault at the emulator (an HTTP answer, or a
scenario that makes the exchange say something it must not be believed on), syncs once with no
retry left, and checks what a fund manager relies on: the stored holdings are the last good
ones, the run's outcome and message say what happened, the location's sync alert is what the
fault deserves; then the fault goes away and the next clean sync recovers (the alert resolves).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from portfolio.models import ExchangeAccount, Price, SyncOutcome
from portfolio.services import set_exchange_credentials
from riskmodels.models import SYNC_RULE, Alert, AlertLevel, AlertState
from sandbox.emulator import Emulator
from tests.conftest import TEST_SCENARIO
from tests.portfolio.test_exchange_boundary import ERROR_BODIES, UNREADABLE_PERMISSIONS
from tests.portfolio.test_sync import KEYS, holdings_of, make_account, run

DEDICATED = (
    "binance",
    "kraken",
    "okx",
    "coinbase",
    "bybit",
    "hyperliquid",
    "kucoin",
    "bitfinex",
    "gemini",
    "bitget",
    "gate",
    "cryptocom",
    "bitstamp",
    "deribit",
    "krakenfutures",
    "mexc",
    "htx",
)
GENERIC = "latoken"  # read by the generic adapter: ccxt's unified fetch_balance
EXCHANGES = (*DEDICATED, GENERIC)
# The wallet every account of the test scenario holds BTC in: its scenario name, its balance
# endpoint, the BTC code the exchange reports, and the amount held there.
PRIMARY: dict[str, tuple[str, str, str, str]] = {
    "binance": ("spot", "/api/v3/account", "BTC", "1.5"),
    "kraken": ("spot", "/0/private/BalanceEx", "XXBT", "2"),
    "okx": ("trading", "/api/v5/account/balance", "BTC", "3"),
    "coinbase": ("spot", "/v2/accounts", "BTC", "4"),
    "bybit": ("unified", "/v5/account/wallet-balance", "BTC", "5"),
    "hyperliquid": ("spot", "/info/spotClearinghouseState", "UBTC", "7.25"),
    "kucoin": ("trade", "/api/v1/accounts", "BTC", "6"),
    "latoken": ("spot", "/v2/auth/account", "BTC", "6"),
    "bitfinex": ("exchange", "/v2/auth/r/wallets", "BTC", "1.25"),
    "gemini": ("exchange", "/v1/balances", "BTC", "0.75"),
    "bitget": ("spot", "/api/v2/spot/account/assets", "BTC", "8"),
    "gate": ("spot", "/api/v4/spot/accounts", "BTC", "9"),
    "cryptocom": ("unified", "/exchange/v1/private/user-balance", "BTC", "7.25"),
    "bitstamp": ("spot", "/api/v2/account_balances/", "BTC", "8.5"),
    "deribit": ("account", "/api/v2/private/get_account_summaries", "BTC", "6.5"),
    "krakenfutures": ("cash", "/derivatives/api/v3/accounts", "xbt", "2.5"),
    "mexc": ("spot", "/api/v3/account", "BTC", "1.75"),
    "htx": ("spot", "/v1/account/accounts/10001/balance", "BTC", "3"),
}
# An asset only the account's own exchange prices (the reference exchange does not). Kraken
# Futures lists no spot market: the reference exchange prices its holdings.
OWN_QUOTE = {
    "binance": ("BNB/USDT", "BNB", "700"),
    "kraken": ("DOT/USD", "DOT", "5"),
    "okx": ("OKB/USDT", "OKB", "50"),
    "coinbase": ("USDC/USD", "USDC", "1"),
    "bybit": ("MNT/USDT", "MNT", "0.8"),
    # USDT0-quoted (read as USDT, as ccxt maps it): the test's reference (kraken) prices USDT
    # but not USDC.
    "hyperliquid": ("HYPE/USDT", "HYPE", "40"),
    "kucoin": ("KCS/USDT", "KCS", "10"),
    "latoken": ("LA/USDT", "LA", "0.05"),
    "bitfinex": ("LEO/USD", "LEO", "9.5"),
    "gemini": ("GUSD/USD", "GUSD", "1"),
    "bitget": ("BGB/USDT", "BGB", "5.5"),
    "gate": ("GT/USDT", "GT", "20"),
    "cryptocom": ("CRO/USDT", "CRO", "0.1"),
    "bitstamp": ("XRP/USD", "XRP", "2"),
    "deribit": ("SOL/USDT", "SOL", "150"),
    "mexc": ("MX/USDT", "MX", "2.5"),
    "htx": ("TRX/USDT", "TRX", "0.25"),
}
REJECTED_KEY: dict[str, tuple[int, Any]] = {
    "binance": (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
    "kraken": (200, {"error": ["EAPI:Invalid key"]}),
    "okx": (401, {"code": "50111", "msg": "Invalid OK-ACCESS-KEY", "data": []}),
    "coinbase": (401, {"errors": [{"id": "authentication_error", "message": "invalid api key"}]}),
    "bybit": (401, {"retCode": 10003, "retMsg": "API key is invalid.", "result": {}}),
    "kucoin": (401, {"code": "400003", "msg": "KC-API-KEY not exists"}),
    "deribit": (
        400,
        {"jsonrpc": "2.0", "error": {"code": 13004, "message": "invalid_credentials"}},
    ),
    "krakenfutures": (401, {"result": "error", "error": "authenticationError"}),
    "cryptocom": (
        401,
        {
            "id": 1,
            "method": "private/user-balance",
            "code": 40101,
            "message": "Authentication failure",
        },
    ),
    "bitstamp": (403, {"status": "error", "reason": "API key not found", "code": "API0001"}),
    "bitget": (400, {"code": "40006", "msg": "Invalid ACCESS_KEY", "data": None}),
    "gate": (401, {"label": "INVALID_KEY", "message": "Invalid key provided"}),
    "bitfinex": (500, ["error", 10100, "apikey: invalid"]),
    "gemini": (400, {"result": "error", "reason": "InvalidApiKey", "message": "Invalid API key"}),
    "latoken": (
        401,
        {
            "result": False,
            "message": "invalid API key, signature or digest",
            "error": "BAD_REQUEST",
            "status": "FAILURE",
        },
    ),
    # ccxt raises 10072 as BadRequest: the adapter reads it as a rejected key.
    "mexc": (400, {"code": 10072, "msg": "Api key info invalid"}),
    "htx": (
        200,
        {
            "status": "error",
            "err-code": "api-signature-not-valid",
            "err-msg": "Signature not valid: Incorrect Access key [Access key错误]",
            "data": None,
        },
    ),
}
# The exchanges a fault kind cannot happen on, and why.
CANNOT_SAY: dict[str, dict[str, str]] = {
    "hyperliquid": {
        # Read by address alone: there is no key to reject. An unknown address answers an
        # empty state, which the "empty wallet" case covers.
        "rejected key": "no key: read by wallet address alone",
        # The info endpoint is unsigned and has no error body of its own: a 5xx or a 429 is
        # all it says (ERROR_BODIES has its 5xx).
        "error in a 200": "the info endpoint has no error body in a 200",
        "nonce or timestamp": "unsigned: no nonce or timestamp to refuse",
    },
}
# The exchanges whose primary wallet cannot hold a negative amount.
NO_SIGNED_SPOT = tuple(e for e in EXCHANGES if e != "cryptocom")
WORDS = {
    "maintenance": "is unavailable or under maintenance",
    "clock": "refused the request's timestamp or nonce",
}

Apply = Callable[[Emulator, str], None]


@dataclass(frozen=True)
class Fault:
    apply: Apply
    outcome: str  # the run's outcome
    words: str  # in the run's message ("" for a clean success)
    alert: str | None  # the sync alert's level, None for none
    only: tuple[str, ...] = EXCHANGES  # the exchanges that can say this
    # Other words for some exchanges: the same fault caught at another step.
    words_for: dict[str, str] = field(default_factory=dict)

    def words_of(self, exchange: str) -> str:
        return self.words_for.get(exchange, self.words)


def answer(status: int | None = None, body: Any = None, **options: Any) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        path = PRIMARY[exchange][1]
        emulator.add_fault(exchange, path, status=status, body=body, times=None, **options)

    return apply


def per_exchange(table: dict[str, tuple[int, Any]]) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        status, body = table[exchange]
        emulator.add_fault(exchange, PRIMARY[exchange][1], status=status, body=body, times=None)

    return apply


def error_body(case: str) -> Apply:
    return per_exchange(
        {ex: ERROR_BODIES[ex][case][:2] for ex in EXCHANGES if case in ERROR_BODIES[ex]}
    )


def account_key(exchange: str) -> str:
    """What the emulator knows the account by: its API key, or its wallet address."""
    credentials = KEYS[exchange]
    return credentials.get("apiKey") or credentials["walletAddress"].lower()


def btc_amount(amount: str) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        wallet, _, code, _ = PRIMARY[exchange]
        emulator.set_balance(exchange, account_key(exchange), wallet, code, amount)

    return apply


def extra_code(code: str) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        wallet = PRIMARY[exchange][0]
        emulator.set_balance(exchange, account_key(exchange), wallet, code, "1")

    return apply


def spaced_btc(emulator: Emulator, exchange: str) -> None:
    wallet, _, code, amount = PRIMARY[exchange]
    key = account_key(exchange)
    emulator.set_balance(exchange, key, wallet, code, None)
    emulator.set_balance(exchange, key, wallet, f" {code} ", amount)


def empty_wallet(emulator: Emulator, exchange: str) -> None:
    wallet = PRIMARY[exchange][0]
    account = next(a for a in scenario()["accounts"] if a["exchange"] == exchange)
    for code in account["balances"][wallet]:
        emulator.set_balance(exchange, account_key(exchange), wallet, code, None)


def own_price(price: str) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        emulator.set_price(exchange, OWN_QUOTE[exchange][0], price)

    return apply


def unreadable_permissions(emulator: Emulator, exchange: str) -> None:
    _, path, body = next(v for v in UNREADABLE_PERMISSIONS.values() if v[0] == exchange)
    emulator.add_fault(exchange, path, status=200, body=body, times=None)


def real_answer(emulator: Emulator, exchange: str) -> Any:
    """The primary wallet's answer as the exchange gives it now, read through ccxt."""
    from portfolio import exchanges

    client = exchanges.build_client(exchange, KEYS[exchange], emulator_url=emulator.url)
    if exchange == GENERIC:  # the raw document ccxt's unified fetch_balance parsed
        client.fetch_balance()
        return client.last_json_response
    calls = exchanges.BALANCE_CALLS[exchange]  # kraken futures has no spot: its first wallet
    call = calls.get("spot", next(iter(calls.values())))[0]
    params = call.params_for(client)
    if call.listing is not None:  # htx: the spot account's id comes from the account list
        listed = getattr(client, call.listing.method)(dict(call.listing.params))
        params |= call.listing.each(listed)[0]
    return getattr(client, call.method)(params)


def first_row_twice(payload: Any, exchange: str, amount: str | None) -> str:
    """The answer with its first row sent again (with another amount when given), as text:
    kraken's rows are the keys of one object, so its repeat is a repeated key."""
    if exchange == "krakenfutures":  # the cash wallet's balances are one object's keys
        accounts = payload["accounts"]
        (code, value), *_ = accounts["cash"]["balances"].items()
        rest = json.dumps(accounts["cash"]["balances"])[1:]
        accounts["cash"]["balances"] = "CASH"
        cash = f'{{"{code}":{amount or json.dumps(value)},{rest}'
        return json.dumps(payload).replace('"CASH"', cash)
    if exchange == "kraken":
        (code, row), *_ = payload["result"].items()
        again = {**row, "balance": amount} if amount else row
        rows = json.dumps(payload["result"])[1:]
        return f'{{"error":[],"result":{{"{code}":{json.dumps(again)},{rows}}}'
    if exchange == "bitfinex":  # rows are arrays: [TYPE, CURRENCY, BALANCE, ...]
        again = [*payload[0][:2], amount, *payload[0][3:]] if amount else list(payload[0])
        return json.dumps([*payload, again])
    rows = {
        "binance": lambda p: p["balances"],
        "okx": lambda p: p["data"][0]["details"],
        "coinbase": lambda p: p["data"],
        "bybit": lambda p: p["result"]["list"][0]["coin"],
        "hyperliquid": lambda p: p["balances"],
        "kucoin": lambda p: p["data"],
        "latoken": lambda p: p,
        "gemini": lambda p: p,
        "bitget": lambda p: p["data"],
        "gate": lambda p: p,
        "cryptocom": lambda p: p["result"]["data"][0]["position_balances"],
        "bitstamp": lambda p: p,
        "deribit": lambda p: p["result"]["summaries"],
        "mexc": lambda p: p["balances"],
        "htx": lambda p: p["data"]["list"],
    }[exchange](payload)
    again = dict(rows[0])
    if amount:
        field = {
            "binance": "free",
            "okx": "eq",
            "bybit": "equity",
            "hyperliquid": "total",
            "kucoin": "balance",
            "latoken": "available",
            "gemini": "amount",
            "bitget": "available",
            "gate": "available",
            "cryptocom": "quantity",
            "bitstamp": "total",
            "deribit": "equity",
            "mexc": "free",
            "htx": "balance",
        }.get(exchange)
        if field:
            again[field] = amount
        else:
            again["balance"] = {**again["balance"], "amount": amount}
    rows.append(again)
    return json.dumps(payload)


def row_twice(amount: str | None = None) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        body = first_row_twice(real_answer(emulator, exchange), exchange, amount)
        emulator.add_fault(exchange, PRIMARY[exchange][1], status=200, body=body, times=None)

    return apply


def coinbase_page_again(emulator: Emulator, exchange: str) -> None:
    """Every page of accounts is the first one, which points at a next page."""
    page = real_answer(emulator, exchange)
    page["pagination"] = {"next_starting_after": page["data"][-1]["id"]}
    emulator.add_fault(exchange, PRIMARY[exchange][1], status=200, body=page, times=None)


FAILED, HELD, OK = SyncOutcome.FAILED, SyncOutcome.UNCONFIRMED, SyncOutcome.SUCCESS
MALFORMED = "sent a malformed answer for the spot wallet"
UNPARSED_BY_CCXT = {GENERIC: "empty or malformed answer"}
# Where the primary wallet is not our spot wallet: Kraken Futures' cash is the funding wallet.
ELSEWHERE = {"krakenfutures": MALFORMED.replace("spot", "funding")}
FAULTS: dict[str, Fault] = {
    # What the exchange says at the HTTP level.
    "503 html": Fault(answer(503, "<html>down</html>"), FAILED, WORDS["maintenance"], "warn"),
    "5xx json": Fault(error_body("5xx-json"), FAILED, WORDS["maintenance"], "warn"),
    "error in a 200": Fault(error_body("error-in-200"), FAILED, WORDS["maintenance"], "warn"),
    "nonce or timestamp": Fault(error_body("nonce"), FAILED, WORDS["clock"], "warn"),
    "429": Fault(answer(429, {"msg": "slow down"}), FAILED, "is limiting how fast", "warn"),
    "connection closed": Fault(answer(close=True), FAILED, "Could not reach", "warn"),
    "empty body": Fault(answer(200, ""), FAILED, "empty or malformed answer", "warn"),
    "truncated json": Fault(answer(200, '{"resu'), FAILED, "empty or malformed answer", "warn"),
    "html in a 200": Fault(answer(200, "<html>"), FAILED, "empty or malformed answer", "warn"),
    "too slow": Fault(answer(delay=2.5), FAILED, "did not answer within 1.5 s", "warn"),
    "trickled": Fault(
        answer(trickle_bytes=64, trickle_interval=0.6), FAILED, "did not answer within", "warn"
    ),
    "rejected key": Fault(per_exchange(REJECTED_KEY), FAILED, "rejected the API key", "breach"),
    # What the exchange says in a well-formed answer.
    "empty wallet": Fault(empty_wallet, HELD, "awaiting confirmation", "warn"),
    # latoken's class adds free and used with ccxt's string arithmetic, which fails on these
    # before the generic adapter sees the total: a malformed answer all the same.
    "NaN": Fault(
        btc_amount("NaN"), FAILED, MALFORMED, "warn", words_for=UNPARSED_BY_CCXT | ELSEWHERE
    ),
    "Infinity": Fault(
        btc_amount("Infinity"), FAILED, MALFORMED, "warn", words_for=UNPARSED_BY_CCXT | ELSEWHERE
    ),
    "1e30": Fault(btc_amount("1E+30"), FAILED, MALFORMED, "warn", words_for=ELSEWHERE),
    # Not cryptocom: its unified wallet reports a borrowing as a negative quantity (margin).
    "negative spot": Fault(
        btc_amount("-5"), FAILED, MALFORMED, "warn", only=NO_SIGNED_SPOT, words_for=ELSEWHERE
    ),
    "code too long": Fault(extra_code("X" * 50), FAILED, MALFORMED, "warn", words_for=ELSEWHERE),
    "code with spaces": Fault(spaced_btc, OK, "", None),
    "row twice": Fault(row_twice(), OK, "", None),
    # The generic adapter refuses the repeat in the raw body, before ccxt (which would keep the
    # last row) reads it: its wallet is not known there yet.
    "row twice, two amounts": Fault(
        row_twice("7"),
        FAILED,
        MALFORMED,
        "warn",
        words_for={GENERIC: "empty or malformed answer"} | ELSEWHERE,
    ),
    "page served again": Fault(coinbase_page_again, OK, "", None, only=("coinbase",)),
    # Only the exchanges whose adapter reads the key's permissions (the generic adapter does
    # not: ccxt has no unified call for them).
    "unreadable permissions": Fault(
        unreadable_permissions,
        OK,
        "",
        None,
        only=(
            "binance",
            "okx",
            "bybit",
            "kucoin",
            "bitfinex",
            "gemini",
            "bitget",
            "gate",
            "mexc",
            "htx",
        ),
    ),
    "quote too small to store": Fault(
        own_price("0.0000000000000000001"), OK, "", None, only=tuple(OWN_QUOTE)
    ),
    "quote jumps 20x": Fault(own_price("20000"), OK, "", None, only=tuple(OWN_QUOTE)),
}
CASES = [
    pytest.param(exchange, name, id=f"{exchange}-{name}")
    for name, fault in FAULTS.items()
    for exchange in fault.only
    if name not in CANNOT_SAY.get(exchange, {})
]


def scenario() -> dict[str, Any]:
    return json.loads(TEST_SCENARIO.read_text())


def sync_alert(account: ExchangeAccount) -> Alert | None:
    alerts = Alert.objects.filter(rule=SYNC_RULE, subject=str(account.pk))
    return alerts.order_by("-pk").first()


def recover(emulator: Emulator, account: ExchangeAccount, name: str) -> None:
    emulator.clear_faults()
    emulator.update_scenario(scenario(), replace=True)
    if name == "rejected key":  # the manager enters the key again
        set_exchange_credentials(account=account, credentials=KEYS[account.exchange_id])


@pytest.mark.parametrize(("exchange", "name"), CASES)
def test_a_fault_never_changes_the_stored_holdings(db, emulator, settings, exchange, name):
    fault = FAULTS[name]
    account = make_account(exchange)
    assert run(account).outcome == OK
    good = holdings_of(account)
    permissions = ExchangeAccount.objects.get(pk=account.pk).key_permissions

    fault.apply(emulator, exchange)
    settings.SYNC_TIMEOUT_MS = 1500
    faulty = run(account, retries_left=0)
    settings.SYNC_TIMEOUT_MS = 10_000

    assert holdings_of(account) == good
    words = fault.words_of(exchange)
    assert (faulty.outcome, words in faulty.error_message) == (fault.outcome, True), (
        faulty.error_message
    )
    alert = sync_alert(account)
    assert (alert.level if alert else None) == fault.alert
    check_side_effects(account, name, permissions)

    recover(emulator, account, name)
    recovered = run(account, retries_left=0)
    assert (recovered.outcome, recovered.error_message) == (OK, "")
    assert holdings_of(account) == good
    assert alert is None or Alert.objects.get(pk=alert.pk).state == AlertState.RESOLVED


def check_side_effects(account: ExchangeAccount, name: str, permissions: dict) -> None:
    """What the benign-looking faults must still leave behind."""
    if name == "unreadable permissions":
        stored = ExchangeAccount.objects.get(pk=account.pk)
        assert stored.key_permissions == permissions  # the last known flags, kept
        assert "could not be read" in stored.key_permissions_problem
    if name.startswith("quote"):
        code = OWN_QUOTE[account.exchange_id][1]
        latest = Price.objects.filter(asset__code=code).latest()
        assert latest.price_usd is None and latest.refused_reason  # unpriced, never zero
    if name == "rejected key":
        alert = sync_alert(account)
        assert alert is not None and alert.level == AlertLevel.BREACH


def test_every_adapter_is_in_the_matrix():
    from portfolio.exchanges import SUPPORTED_EXCHANGES, reader

    assert set(PRIMARY) == set(EXCHANGES) == {*SUPPORTED_EXCHANGES, GENERIC}
    assert set(DEDICATED) == set(SUPPORTED_EXCHANGES)
    for exchange, kinds in CANNOT_SAY.items():  # each left out with its reason
        assert exchange in EXCHANGES and set(kinds) <= set(FAULTS) and all(kinds.values())
    assert reader(GENERIC) == "generic"  # the generic adapter runs the whole matrix too
    assert Decimal(PRIMARY["binance"][3]) == Decimal("1.5")
