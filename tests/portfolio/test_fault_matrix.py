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

DEDICATED = ("binance", "kraken", "okx", "coinbase", "bybit", "mexc", "htx")
GENERIC = "kucoin"  # read by the generic adapter: ccxt's unified fetch_balance
EXCHANGES = (*DEDICATED, GENERIC)
# The wallet every account of the test scenario holds BTC in: its scenario name, its balance
# endpoint, the BTC code the exchange reports, and the amount held there.
PRIMARY: dict[str, tuple[str, str, str, str]] = {
    "binance": ("spot", "/api/v3/account", "BTC", "1.5"),
    "kraken": ("spot", "/0/private/BalanceEx", "XXBT", "2"),
    "okx": ("trading", "/api/v5/account/balance", "BTC", "3"),
    "coinbase": ("spot", "/v2/accounts", "BTC", "4"),
    "bybit": ("unified", "/v5/account/wallet-balance", "BTC", "5"),
    "kucoin": ("spot", "/api/v1/accounts", "BTC", "6"),
    "mexc": ("spot", "/api/v3/account", "BTC", "1.75"),
    "htx": ("spot", "/v1/account/accounts/10001/balance", "BTC", "3"),
}
# An asset only the account's own exchange prices (the reference exchange does not).
OWN_QUOTE = {
    "binance": ("BNB/USDT", "BNB", "700"),
    "kraken": ("DOT/USD", "DOT", "5"),
    "okx": ("OKB/USDT", "OKB", "50"),
    "coinbase": ("USDC/USD", "USDC", "1"),
    "bybit": ("MNT/USDT", "MNT", "0.8"),
    "kucoin": ("KCS/USDT", "KCS", "10"),
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
    return per_exchange({ex: ERROR_BODIES[ex][case][:2] for ex in EXCHANGES})


def btc_amount(amount: str) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        wallet, _, code, _ = PRIMARY[exchange]
        emulator.set_balance(exchange, KEYS[exchange]["apiKey"], wallet, code, amount)

    return apply


def extra_code(code: str) -> Apply:
    def apply(emulator: Emulator, exchange: str) -> None:
        wallet = PRIMARY[exchange][0]
        emulator.set_balance(exchange, KEYS[exchange]["apiKey"], wallet, code, "1")

    return apply


def spaced_btc(emulator: Emulator, exchange: str) -> None:
    wallet, _, code, amount = PRIMARY[exchange]
    key = KEYS[exchange]["apiKey"]
    emulator.set_balance(exchange, key, wallet, code, None)
    emulator.set_balance(exchange, key, wallet, f" {code} ", amount)


def empty_wallet(emulator: Emulator, exchange: str) -> None:
    wallet = PRIMARY[exchange][0]
    account = next(a for a in scenario()["accounts"] if a["exchange"] == exchange)
    for code in account["balances"][wallet]:
        emulator.set_balance(exchange, KEYS[exchange]["apiKey"], wallet, code, None)


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
    call = exchanges.BALANCE_CALLS[exchange]["spot"][0]
    params = dict(call.params)
    if call.listing is not None:  # htx: the spot account's id comes from the account list
        listed = getattr(client, call.listing.method)(dict(call.listing.params))
        params |= call.listing.each(listed)[0]
    return getattr(client, call.method)(params)


def first_row_twice(payload: Any, exchange: str, amount: str | None) -> str:
    """The answer with its first row sent again (with another amount when given), as text:
    kraken's rows are the keys of one object, so its repeat is a repeated key."""
    if exchange == "kraken":
        (code, row), *_ = payload["result"].items()
        again = {**row, "balance": amount} if amount else row
        rows = json.dumps(payload["result"])[1:]
        return f'{{"error":[],"result":{{"{code}":{json.dumps(again)},{rows}}}'
    rows = {
        "binance": lambda p: p["balances"],
        "okx": lambda p: p["data"][0]["details"],
        "coinbase": lambda p: p["data"],
        "bybit": lambda p: p["result"]["list"][0]["coin"],
        "kucoin": lambda p: p["data"],
        "mexc": lambda p: p["balances"],
        "htx": lambda p: p["data"]["list"],
    }[exchange](payload)
    again = dict(rows[0])
    if amount:
        fields = {"binance": "free", "okx": "eq", "bybit": "equity", "kucoin": "balance"}
        field = (fields | {"mexc": "free", "htx": "balance"}).get(exchange)
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
    "NaN": Fault(btc_amount("NaN"), FAILED, MALFORMED, "warn"),
    "Infinity": Fault(btc_amount("Infinity"), FAILED, MALFORMED, "warn"),
    "1e30": Fault(btc_amount("1E+30"), FAILED, MALFORMED, "warn"),
    "negative spot": Fault(btc_amount("-5"), FAILED, MALFORMED, "warn"),
    "code too long": Fault(extra_code("X" * 50), FAILED, MALFORMED, "warn"),
    "code with spaces": Fault(spaced_btc, OK, "", None),
    "row twice": Fault(row_twice(), OK, "", None),
    # The generic adapter refuses the repeat in the raw body, before ccxt (which would keep the
    # last row) reads it: its wallet is not known there yet.
    "row twice, two amounts": Fault(
        row_twice("7"), FAILED, MALFORMED, "warn", words_for={GENERIC: "empty or malformed answer"}
    ),
    "page served again": Fault(coinbase_page_again, OK, "", None, only=("coinbase",)),
    # Only the exchanges whose adapter reads the key's permissions (the generic adapter does
    # not: ccxt has no unified call for them).
    "unreadable permissions": Fault(
        unreadable_permissions, OK, "", None, only=("binance", "okx", "bybit", "mexc", "htx")
    ),
    "quote too small to store": Fault(own_price("0.0000000000000000001"), OK, "", None),
    "quote jumps 20x": Fault(own_price("20000"), OK, "", None),
}
CASES = [
    pytest.param(exchange, name, id=f"{exchange}-{name}")
    for name, fault in FAULTS.items()
    for exchange in fault.only
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
    assert reader(GENERIC) == "generic"  # the generic adapter runs the whole matrix too
    assert Decimal(PRIMARY["binance"][3]) == Decimal("1.5")
