"""Sub-accounts read with a master key: binance, okx and bybit over ccxt's real classes and real
HTTP to the emulator (no mocks)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, SubAccountRef, fetch_account
from sandbox.emulator import run_emulator

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())
D = Decimal

LISTED = {
    "binance": (("desk-a@fund.test", "Desk A"), ("desk-b@fund.test", "Desk B")),
    "okx": (("deskB", "Desk B"), ("deskA", "Desk A")),  # OKX lists the newest first
    "bybit": (("2001001", "Desk A"), ("2001002", "Desk B")),
}
EXPECTED = {
    "binance": {
        "desk-a@fund.test": {
            ("BTC", "spot"): "1",  # free 0.75 + locked 0.25
            ("USDT", "spot"): "2500.5",
            ("ETH", "margin"): "3",
            ("USDT", "margin"): "-301.25",  # netAsset: 100 - 400 borrowed - 1.25 interest
            ("USDT", "futures"): "979.25",  # wallet 1000 and unrealised PnL -20.75
        },
        "desk-b@fund.test": {
            ("ETH", "spot"): "12.5",
            ("BTC", "margin"): "0.1",
            ("USDT", "futures"): "583.3",  # wallet 550 and unrealised PnL 33.3
        },
    },
    "okx": {
        "deskA": {
            ("BTC", "spot"): "2",
            ("BTC", "futures"): "0.01",  # upl apart from the cash balance
            ("USDT", "spot"): "5000",
            ("USDT", "funding"): "250",
            ("ETH", "funding"): "0.5",
        },
        "deskB": {
            ("ETH", "spot"): "10",
            ("ETH", "futures"): "-0.2",
            ("OKB", "funding"): "40",
        },
    },
    "bybit": {
        "2001001": {
            ("BTC", "spot"): "1.5",
            ("USDT", "spot"): "1000",
            ("USDT", "funding"): "300",
        },
        "2001002": {
            ("ETH", "spot"): "2",
            ("MNT", "funding"): "50",
            ("USDC", "funding"): "75.25",
        },
    },
}
# The balance path every sub-account read asks, and the wallet of a sub-account to add.
SUB_PATHS = {
    "binance": "/sapi/v4/sub-account/assets",
    "okx": "/api/v5/account/subaccount/balances",
    "bybit": "/v5/asset/transfer/query-account-coins-balance",
}
UNKNOWN = {"binance": "nobody@fund.test", "okx": "nobody", "bybit": "9999999"}
UNKNOWN_MESSAGE = {
    "binance": "Your input email is invalid.",
    "okx": "Sub-account does not exist.",
    "bybit": "Invalid memberId",
}
# A listing longer than one page: binance 200, okx 100, bybit 100 per page.
PAGE = {"binance": 200, "okx": 100, "bybit": 100}


def account(exchange):
    return next(a for a in RAW["accounts"] if a["exchange"] == exchange)


def creds(exchange):
    raw = account(exchange)
    found = {"apiKey": raw["api_key"], "secret": raw["secret"], "password": raw.get("password")}
    return {k: v for k, v in found.items() if v}


def sub_id(exchange, n):
    return {"binance": f"extra{n}@fund.test", "okx": f"extra{n}", "bybit": str(3_000_000 + n)}[
        exchange
    ]


@pytest.fixture
def emulator():
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


@pytest.fixture
def fetch(emulator):
    def run(exchange, **options):
        return fetch_account(
            exchange,
            creds(exchange),
            exchanges.WALLETS,
            emulator_url=emulator.url,
            timeout_ms=5000,
            **options,
        )

    return run


def amounts(result):
    return {(b.code, b.product): b.amount for b in result.balances}


@pytest.mark.parametrize("exchange", list(LISTED))
def test_listing_gives_exactly_the_scenarios_subaccounts(fetch, exchange):
    result = fetch(exchange, list_subaccounts=True)
    assert result.subaccounts == tuple(SubAccountRef(i, n) for i, n in LISTED[exchange])


@pytest.mark.parametrize(
    ("exchange", "sub"), [(ex, sub) for ex, subs in EXPECTED.items() for sub in subs]
)
def test_subaccount_wallets_land_exact_with_their_products(fetch, emulator, exchange, sub):
    result = fetch(exchange, subaccount=sub)
    assert amounts(result) == {k: D(v) for k, v in EXPECTED[exchange][sub].items()}
    assert emulator.count(exchange=exchange, path=SUB_PATHS[exchange]) >= 1
    assert result.key_permissions is None  # the master's own sync reports them


@pytest.mark.parametrize("exchange", list(UNKNOWN))
def test_unknown_subaccount_fails_with_the_exchanges_words(fetch, exchange):
    with pytest.raises(ExchangeFault) as caught:
        fetch(exchange, subaccount=UNKNOWN[exchange])
    assert caught.value.kind == "exchange_error"
    assert UNKNOWN_MESSAGE[exchange] in caught.value.message


@pytest.mark.parametrize("exchange", list(LISTED))
def test_removed_subaccount_leaves_the_listing(fetch, emulator, exchange):
    gone, kept = LISTED[exchange][0], LISTED[exchange][1]
    emulator.remove_subaccount(exchange, account(exchange)["api_key"], gone[0])
    assert fetch(exchange, list_subaccounts=True).subaccounts == (SubAccountRef(*kept),)


@pytest.mark.parametrize("exchange", list(LISTED))
def test_added_subaccount_is_listed_and_read(fetch, emulator, exchange):
    key = account(exchange)["api_key"]
    wallet = {"binance": "spot", "okx": "funding", "bybit": "funding"}[exchange]
    emulator.set_subaccount(exchange, key, sub_id(exchange, 1), "Desk C", {wallet: {"BTC": "0.5"}})
    refs = fetch(exchange, list_subaccounts=True).subaccounts
    assert SubAccountRef(sub_id(exchange, 1), "Desk C") in refs
    product = "spot" if wallet == "spot" else "funding"
    assert amounts(fetch(exchange, subaccount=sub_id(exchange, 1))) == {("BTC", product): D("0.5")}


@pytest.mark.parametrize("exchange", list(LISTED))
def test_listing_longer_than_a_page_is_read_whole(fetch, emulator, exchange):
    key = account(exchange)["api_key"]
    extra = PAGE[exchange] + 5 - len(LISTED[exchange])
    for n in range(extra):
        emulator.set_subaccount(exchange, key, sub_id(exchange, n), f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(exchange, list_subaccounts=True).subaccounts
    assert len(refs) == PAGE[exchange] + 5
    assert {r.id for r in refs} == {i for i, _ in LISTED[exchange]} | {
        sub_id(exchange, n) for n in range(extra)
    }
    assert {r.name for r in refs if r.id == sub_id(exchange, 0)} == {"Extra 0"}
    listing = {"binance": "/sapi/v1/sub-account/list", "okx": "/api/v5/users/subaccount/list",
               "bybit": "/v5/user/submembers"}[exchange]  # fmt: skip
    assert emulator.count(exchange=exchange, path=listing) == 2


# The listing parsers and pagers on their own: what a malformed listing does.
def test_listing_row_without_an_id_is_a_malformed_answer():
    from portfolio.exchanges import bybit
    from portfolio.exchanges.errors import Malformed

    with pytest.raises(Malformed, match="without uid"):
        bybit.subaccount_refs({"result": {"subMembers": [{"uid": "", "username": "u"}]}})


def test_listing_name_is_the_label_else_the_username_else_the_id():
    from portfolio.exchanges import bybit

    rows = [
        {"uid": "1", "remark": " Desk ", "username": "u1"},
        {"uid": "2", "remark": "", "username": "u2"},
        {"uid": "3", "remark": "", "username": ""},
    ]
    refs = bybit.subaccount_refs({"result": {"subMembers": rows}})
    assert [(r.id, r.name) for r in refs] == [("1", "Desk"), ("2", "u2"), ("3", "3")]


def test_okx_full_page_without_a_creation_time_is_malformed_not_cut_short():
    from portfolio.exchanges import okx
    from portfolio.exchanges.errors import Malformed

    page = {"data": [{"subAcct": f"s{i}", "ts": str(i)} for i in range(99)] + [{"subAcct": "x"}]}
    with pytest.raises(Malformed, match="ts"):
        okx.subaccount_next_page(page, {"limit": "100"})
    assert okx.subaccount_next_page({"data": page["data"][:5]}, {"limit": "100"}) is None


def test_binance_pages_on_while_pages_are_full():
    from portfolio.exchanges import binance

    params = {"page": 1, "limit": 2}
    full, short = {"subAccounts": [{}, {}]}, {"subAccounts": [{}]}
    assert binance.subaccount_next_page(full, params) == {"page": 2, "limit": 2}
    assert binance.subaccount_next_page(short, params) is None


def test_an_exchange_without_subaccount_support_says_so(emulator):
    with pytest.raises(ExchangeFault, match="cannot read Kraken sub-accounts"):
        fetch_account("kraken", {"apiKey": "k", "secret": "czNjcjN0"}, ["spot"], subaccount="x")
