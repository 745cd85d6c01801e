"""Bitget sub-accounts read with a master key, over ccxt's real class and real HTTP to the
emulator (no mocks)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from tests.portfolio.subaccount_support import amounts, fetcher

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())
ACCOUNT = next(a for a in RAW["accounts"] if a["exchange"] == "bitget")
KEY = ACCOUNT["api_key"]
CREDS = {"apiKey": KEY, "secret": ACCOUNT["secret"], "password": ACCOUNT["password"]}
DESK_A, DESK_B = "5765432101", "5765432102"
# Bitget lists the newest first.
LISTED = (SubAccountRef(DESK_B, "Desk B"), SubAccountRef(DESK_A, "Desk A"))
D = Decimal
EXPECTED = {
    DESK_A: {
        ("BTC", "spot"): D("0.5"),  # available 0.4 + frozen 0.1
        ("USDT", "spot"): D("1200"),
        ("USDT", "futures"): D("964.5"),  # wallet 1000 and unrealised PnL -35.5
    },
    DESK_B: {
        ("ETH", "spot"): D("4"),
        ("BGB", "spot"): D("150"),
        ("USDT", "futures"): D("312.25"),
    },
}
LISTING = "/api/v2/user/virtual-subaccount-list"
SPOT = "/api/v2/spot/account/subaccount-assets"
FUTURES = "/api/v2/mix/account/sub-account-assets"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "bitget")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", [DESK_A, DESK_B])
def test_subaccount_spot_and_futures_land_exact(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == EXPECTED[sub]
    # The listing gates the id once; each balance call once; the master's own not asked.
    assert emulator.count(exchange="bitget", path=LISTING) == 1
    assert emulator.count(exchange="bitget", path=SPOT) == 1
    assert emulator.count(exchange="bitget", path=FUTURES) == 1
    assert emulator.count(exchange="bitget", path="/api/v2/spot/account/assets") == 0
    assert result.key_permissions is None


def test_other_subaccounts_rows_are_not_taken(fetch, emulator):
    # Both answers list every sub-account: only the asked one's rows count.
    emulator.set_subaccount("bitget", KEY, "5765432199", "Other", {"spot": {"ETH": "100"}})
    assert amounts(fetch(subaccount=DESK_A)) == EXPECTED[DESK_A]


def test_coin_and_usdc_futures_of_a_subaccount_are_not_read(fetch, emulator):
    balances = {"spot": {"BTC": "1"}, "futures_coin": {"BTC": "2"}, "futures_usdc": {"USDC": "3"}}
    emulator.set_subaccount("bitget", KEY, "5765432103", "Desk C", balances)
    assert amounts(fetch(subaccount="5765432103")) == {("BTC", "spot"): D("1")}


def test_unknown_subaccount_is_a_fault_not_an_empty_subaccount(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="9999999999")
    assert caught.value.kind == "exchange_error"
    assert "Bitget lists no sub-account 9999999999" in caught.value.message


def test_removed_subaccount_leaves_the_listing_and_cannot_be_read(fetch, emulator):
    emulator.remove_subaccount("bitget", KEY, DESK_A)
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[0],)
    with pytest.raises(ExchangeFault, match="lists no sub-account"):
        fetch(subaccount=DESK_A)


def test_listing_longer_than_a_page_is_read_whole(fetch, emulator):
    extra = [str(6_000_000_000 + n) for n in range(503)]
    for n, sub_id in enumerate(extra):
        emulator.set_subaccount("bitget", KEY, sub_id, f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(list_subaccounts=True).subaccounts
    assert len(refs) == 505
    assert {r.id for r in refs} == {DESK_A, DESK_B, *extra}
    assert SubAccountRef(extra[0], "Extra 0") in refs
    assert emulator.count(exchange="bitget", path=LISTING) == 2


def test_spot_assets_longer_than_a_page_are_read_whole(fetch, emulator):
    # DESK_A is the oldest: its row comes after 55 newer sub-accounts', on the second page.
    for n in range(55):
        emulator.set_subaccount(
            "bitget", KEY, str(7_000_000_000 + n), f"S{n}", {"spot": {"BTC": "9"}}
        )
    emulator.reset_stats()
    assert amounts(fetch(subaccount=DESK_A)) == EXPECTED[DESK_A]
    assert emulator.count(exchange="bitget", path=SPOT) == 2


def test_listing_name_is_the_label_else_the_name_else_the_id():
    from portfolio.exchanges import bitget

    listed = [
        {"subAccountUid": "1", "label": " Desk ", "subAccountName": "v1"},
        {"subAccountUid": "2", "label": "", "subAccountName": "v2"},
        {"subAccountUid": "3", "label": "", "subAccountName": ""},
    ]
    refs = bitget.subaccount_refs({"code": "00000", "data": {"subAccountList": listed}})
    assert [(r.id, r.name) for r in refs] == [("1", "Desk"), ("2", "v2"), ("3", "3")]


def test_full_pages_without_a_cursor_are_malformed_not_cut_short():
    from portfolio.exchanges import bitget
    from portfolio.exchanges.errors import Malformed

    full = [{"subAccountUid": str(n)} for n in range(500)]
    with pytest.raises(Malformed, match="endId"):
        bitget.subaccount_next_page({"data": {"subAccountList": full}}, {"limit": "500"})
    short = {"data": {"subAccountList": full[:3], "endId": "7"}}
    assert bitget.subaccount_next_page(short, {"limit": "500"}) is None
    with pytest.raises(Malformed, match="id"):
        bitget.sub_spot_next_page({"data": [{"userId": 1}] * 50}, {"limit": "50"})
