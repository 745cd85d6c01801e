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
LATOKEN_IDS = {
    "BTC": "92151d82-df98-4d88-9a4d-284fa9eca49f",
    "USDT": "0c3a106d-bde3-4c13-a26e-3fd2394529e5",
}


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
        # latoken's rows name currencies by id: what its currency list would have said.
        session.client.currencies_by_id = {
            currency_id: {"id": currency_id, "code": code}
            for code, currency_id in LATOKEN_IDS.items()
        }

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


def latoken_row(**row: str) -> dict[str, str]:
    """One account as latoken's getBalancesByUser documents it."""
    base = {
        "id": "369df204-acbc-467e-a25e-b16e3cc09cf6", "status": "ACCOUNT_STATUS_ACTIVE",
        "type": "ACCOUNT_TYPE_SPOT", "timestamp": "1635920106504",
        "currency": LATOKEN_IDS["BTC"], "available": "1", "blocked": "0",
    }  # fmt: skip
    return base | row


def latoken_body(*rows: dict[str, str]) -> str:
    return json.dumps(list(rows) or [latoken_row()])


def test_latoken_spot_rows_read_exactly_and_other_accounts_are_left_out(replay):
    usdt = latoken_row(
        id="e5852e02-8711-431c-9749-a6f5503c6dbe", currency=LATOKEN_IDS["USDT"],
        available="94.341163987500000001", blocked="0.5",
    )  # fmt: skip
    funding = usdt | {"id": "7a5c1e0b-0000-4000-8000-000000000001", "type": "ACCOUNT_TYPE_WALLET"}
    replay(latoken_body(latoken_row(available="0.0003999", blocked="0.0000001"), usdt, funding))
    assert read("latoken") == {"BTC": Decimal("0.0004"), "USDT": Decimal("94.841163987500000001")}


def test_cryptocom_recorded_balance_reads_exactly_now_through_its_dedicated_adapter(replay):
    # Read generically before cryptocom had its own adapter; the same replay, through the same
    # HTTP path, now books the quantities as spot and the session's unrealised PnL apart.
    entry = recorded("cryptocom")[0]
    replay(json.dumps(entry["httpResponse"]))
    fetched = exchanges.fetch_account(
        "cryptocom", {"apiKey": "k" * 16, "secret": "s" * 16}, ["spot"], emulator_url=REPLAY_URL
    )
    found = {(b.code, b.product): b.amount for b in fetched.balances}
    assert (
        {code: v for (code, product), v in found.items() if product == "spot"}
        == {
            "BTC": Decimal("0.0003999"),
            "USDT": Decimal("94.3411639875"),
            "CRO": Decimal("0.99625"),
            "LTC": Decimal("0.07109989"),
            "USD": Decimal("29.01316839415396"),
        }
        == parsed_totals(entry)
    )
    assert {k: v for k, v in found.items() if k[1] != "spot"} == {
        ("USD", "futures"): Decimal("-1.645")
    }


def test_replay_never_leaves_the_machine(replay):
    asked = replay(latoken_body())
    read("latoken")
    assert asked and all(url.startswith(REPLAY_URL + "/") for url in asked)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (latoken_body(latoken_row(available="1e30")), "10^18"),
        (latoken_body(latoken_row(available="-1")), "negative"),
        (latoken_body(latoken_row(available="0.0000000000000000001")), "decimal places"),
        # ccxt's own string arithmetic (free + used) fails on it first: malformed all the same.
        (latoken_body(latoken_row(available="NaN")), "'NaN'"),
    ],
)
def test_values_outside_the_boundary_are_refused(replay, body, detail):
    replay(body)
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("latoken")
    assert caught.value.kind == "bad_response"
    assert detail in caught.value.message


@pytest.mark.parametrize(
    "body", ["", "<html>busy</html>", '[{"id": "369df204", "type": ', "{}", "[]"]
)
def test_an_empty_or_malformed_body_is_never_read_as_zero(replay, body):
    replay(body)
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("latoken")
    assert caught.value.kind == "bad_response"


def test_a_key_repeated_with_two_values_is_refused(replay):
    replay(latoken_body(latoken_row()).replace('"blocked": "0"', '"blocked": "0", "blocked": "1"'))
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("latoken")
    assert caught.value.kind == "bad_response"
    assert "appears twice" in caught.value.message


def two_rows(first: dict[str, str], again: dict[str, str]) -> str:
    return latoken_body(first, again)


def test_a_row_repeated_with_another_amount_is_refused(replay):
    row = latoken_row()
    replay(two_rows(row, row | {"available": "7"}))
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("latoken")  # ccxt would keep the last row: 7 instead of 1
    assert caught.value.kind == "bad_response"
    assert "row id '369df204-acbc-467e-a25e-b16e3cc09cf6' appears twice" in caught.value.message


def test_the_same_row_twice_is_taken_once(replay):
    row = latoken_row()
    replay(two_rows(row, row))
    assert read("latoken") == {"BTC": Decimal("1")}


def test_rows_with_their_own_ids_are_not_repeats():
    first = {"id": "1", "currency": "BTC", "balance": "1"}
    assert generic.repeated_key(two_rows(first, first | {"id": "2", "currency": "ETH"})) is None


def test_errors_fall_back_to_ccxts_own_classification(replay):
    # latoken's "invalid API key, signature or digest": ccxt's broad table says
    # AuthenticationError (its error id, BAD_REQUEST, alone would be a bad request).
    replay(
        '{"result": false, "message": "invalid API key, signature or digest", '
        '"error": "BAD_REQUEST", "status": "FAILURE"}'
    )
    with pytest.raises(exchanges.ExchangeFault) as caught:
        read("latoken")
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
    assert exchanges.supported_wallets("latoken") == ("spot",)
    assert exchanges.supported_wallets("bitbank") == ("spot",)
    assert exchanges.reader("latoken") == "generic"
    assert exchanges.reader("okx") == "dedicated"
    assert exchanges.supported_wallets("no-such-exchange") == ()


def test_a_generic_client_reads_exact_strings_and_keeps_the_document():
    client = exchanges.build_client("latoken")
    assert client.number is str
    assert client.enableLastJsonResponse is True
    assert exchanges.build_client("okx").enableLastJsonResponse is False
