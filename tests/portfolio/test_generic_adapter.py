"""The generic adapter: ccxt's unified fetch_balance, exact, guarded, for every exchange without
a dedicated one. Replays the balances real exchanges returned (../shared/ccxt-recorded/) through
the real HTTP path of a sync, as ccxt's own tests do with set_fetch_response."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from portfolio import exchanges
from portfolio.exchanges import fetch as fetch_module
from portfolio.exchanges import generic

RECORDED = Path("/work/shared/ccxt-recorded")
REPLAY_URL = "http://replay.invalid"


def recorded(exchange_id: str) -> list[dict[str, Any]]:
    return json.loads((RECORDED / f"{exchange_id}.json").read_text())["fetchBalance"]


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """Every request answers with `body` (status 200); returns the URLs asked. Markets are
    stubbed: a balance read needs none."""
    asked: list[str] = []
    state = {"body": ""}

    def send(self: HTTPAdapter, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        asked.append(str(request.url))
        response = Response()
        response.status_code = 200
        response._content = state["body"].encode()
        response.headers["Content-Type"] = "application/json"
        response.url = str(request.url)
        response.request = request
        return response

    def no_markets(session: Any, emulator_url: str | None) -> None:
        session.client.load_markets = lambda *args, **kwargs: {}

    monkeypatch.setattr(HTTPAdapter, "send", send)
    monkeypatch.setattr(fetch_module, "attach_markets", no_markets)

    def serve(body: str) -> list[str]:
        state["body"] = body
        return asked

    return serve


def read(exchange_id: str, credentials: dict[str, str] | None = None) -> dict[str, Decimal]:
    fetched = exchanges.fetch_account(
        exchange_id,
        credentials or {"apiKey": "k" * 16, "secret": "s" * 16, "password": "p"},
        ["spot"],
        emulator_url=REPLAY_URL,
    )
    assert {b.product for b in fetched.balances} <= {"spot"}
    return {b.code: b.amount for b in fetched.balances}


def parsed_totals(entry: dict[str, Any]) -> dict[str, Decimal]:
    """ccxt's recorded totals, non-zero ones (a sync drops zeros), as exact decimals: the
    recording's floats printed by json carry every digit the payload had."""
    totals = entry["parsed"]["total"]
    return {code: Decimal(repr(v)) for code, v in totals.items() if Decimal(repr(v)) != 0}


def test_kucoin_recorded_spot_balance_reads_exactly(replay):
    entry = recorded("kucoin")[0]
    assert entry["input"] == []
    replay(json.dumps(entry["httpResponse"]))
    assert read("kucoin") == {"USDT": Decimal("40.12618754"), "LTC": Decimal("0.171021")}
    assert read("kucoin") == parsed_totals(entry)


def test_cryptocom_recorded_balance_reads_exactly(replay):
    entry = recorded("cryptocom")[0]
    replay(json.dumps(entry["httpResponse"]))
    assert read("cryptocom", {"apiKey": "k" * 16, "secret": "s" * 16}) == {
        "BTC": Decimal("0.0003999"),
        "USDT": Decimal("94.3411639875"),
        "CRO": Decimal("0.99625"),
        "LTC": Decimal("0.07109989"),
        "USD": Decimal("29.01316839415396"),
    }
    assert read("cryptocom", {"apiKey": "k" * 16, "secret": "s" * 16}) == parsed_totals(entry)


def test_replay_never_leaves_the_machine(replay):
    asked = replay(json.dumps(recorded("kucoin")[0]["httpResponse"]))
    read("kucoin")
    assert asked and all(url.startswith(REPLAY_URL + "/") for url in asked)


def kucoin_body(**row: str) -> str:
    base = {"id": "1", "currency": "BTC", "type": "trade", "balance": "1", "available": "1"}
    return json.dumps({"code": "200000", "data": [base | {"holds": "0"} | row]})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (kucoin_body(balance="1e30", available="1e30"), "10^18"),
        (kucoin_body(balance="-1", available="-1"), "negative"),
        (kucoin_body(balance="0.0000000000000000001", available="0"), "decimal places"),
        (kucoin_body(balance="NaN", available="NaN"), "finite"),
    ],
)
def test_values_outside_the_boundary_are_refused(replay, body, detail):
    replay(body)
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("kucoin")
    assert caught.value.kind == "bad_response"
    assert detail in caught.value.message


@pytest.mark.parametrize(
    "body", ["", "<html>busy</html>", '{"code": "200000", "data": [', "{}", "[]"]
)
def test_an_empty_or_malformed_body_is_never_read_as_zero(replay, body):
    replay(body)
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("kucoin")
    assert caught.value.kind == "bad_response"


def test_a_key_repeated_with_two_values_is_refused(replay):
    replay('{"code": "200000", "code": "200001", "data": []}')
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("kucoin")
    assert caught.value.kind == "bad_response"
    assert "appears twice" in caught.value.message


def two_rows(first: dict[str, str], again: dict[str, str]) -> str:
    return json.dumps({"code": "200000", "data": [first, again]})


def test_a_row_repeated_with_another_amount_is_refused(replay):
    row = json.loads(kucoin_body())["data"][0]
    replay(two_rows(row, row | {"balance": "7", "available": "7"}))
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("kucoin")  # ccxt would keep the last row: 7 instead of 1
    assert caught.value.kind == "bad_response"
    assert "row id '1' appears twice with different values" in caught.value.message


def test_the_same_row_twice_is_taken_once(replay):
    row = json.loads(kucoin_body())["data"][0]
    replay(two_rows(row, row))
    assert read("kucoin") == {"BTC": Decimal("1")}


def test_rows_with_their_own_ids_are_not_repeats():
    first = {"id": "1", "currency": "BTC", "balance": "1"}
    assert generic.repeated_key(two_rows(first, first | {"id": "2", "currency": "ETH"})) is None


def test_errors_fall_back_to_ccxts_own_classification(replay):
    # kucoin's 400003 is "KC-API-KEY not exists": ccxt raises AuthenticationError.
    replay('{"code": "400003", "msg": "KC-API-KEY not exists"}')
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("kucoin")
    assert (caught.value.kind, caught.value.error_class) == (
        "authentication",
        "AuthenticationError",
    )


def balance_exchanges() -> Iterator[str]:
    return (i for i in ccxt.exchanges if generic.reads_balances(i))


# Dedicated derivatives venues without a spot wallet: Kraken Futures' holding wallet is funding.
WITHOUT_SPOT = {"krakenfutures"}


def test_every_exchange_that_reads_balances_has_at_least_spot():
    for exchange_id in balance_exchanges():
        wallets = exchanges.supported_wallets(exchange_id)
        assert ("spot" in wallets) is (exchange_id not in WITHOUT_SPOT), exchange_id
        assert wallets, exchange_id


def test_a_generic_exchange_offers_spot_only_until_a_test_shows_another_type():
    assert generic.ACCOUNT_TYPES == {}
    assert exchanges.supported_wallets("kucoin") == ("spot",)
    assert exchanges.supported_wallets("cryptocom") == ("spot",)
    assert exchanges.reader("kucoin") == "generic"
    assert exchanges.reader("okx") == "dedicated"
    assert exchanges.supported_wallets("no-such-exchange") == ()


def test_a_generic_client_reads_exact_strings_and_keeps_the_document():
    client = exchanges.build_client("kucoin")
    assert client.number is str
    assert client.enableLastJsonResponse is True
    assert exchanges.build_client("okx").enableLastJsonResponse is False
