"""KuCoin sub-accounts read with a master key, over ccxt's real class and real HTTP to the
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
ACCOUNT = next(a for a in RAW["accounts"] if a["exchange"] == "kucoin")
CREDS = {"apiKey": ACCOUNT["api_key"], "secret": ACCOUNT["secret"], "password": ACCOUNT["password"]}
DESK_A, DESK_B = "6543a1b2c3d4e5f6a7b8c9d0", "6543a1b2c3d4e5f6a7b8c9d1"
LISTED = (SubAccountRef(DESK_A, "Desk A"), SubAccountRef(DESK_B, "Desk B"))
D = Decimal
EXPECTED = {
    DESK_A: {
        ("BTC", "spot"): D("1"),  # free 0.75 + locked 0.25: the balance
        ("USDT", "spot"): D("1500.5"),
        ("USDT", "funding"): D("200"),
        ("KCS", "funding"): D("12.5"),
    },
    DESK_B: {("ETH", "spot"): D("3.25"), ("USDC", "funding"): D("99.99")},
}
LISTING = "/api/v2/sub/user"
DETAIL = "/api/v1/sub-accounts/{subUserId}"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "kucoin")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", [DESK_A, DESK_B])
def test_subaccount_spot_and_funding_land_exact(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == EXPECTED[sub]
    # One detail request answers both wallets; the master's own wallets are not asked.
    assert emulator.count(exchange="kucoin", path=DETAIL) == 1
    assert emulator.count(exchange="kucoin", path="/api/v1/accounts") == 0
    assert result.key_permissions is None


def test_subaccount_margin_without_its_debt_is_not_booked(fetch, emulator):
    # KuCoin's detail answer has no liability: a gross margin holding would overstate.
    key = ACCOUNT["api_key"]
    emulator.set_subaccount("kucoin", key, "x1", "Margin desk", {"margin": {"USDT": "500"}})
    assert amounts(fetch(subaccount="x1")) == {}


def test_unknown_subaccount_is_a_fault_with_kucoins_words(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="000000000000000000000000")
    assert caught.value.kind == "exchange_error"
    assert "Parameter Error" in caught.value.message


def test_removed_subaccount_leaves_the_listing(fetch, emulator):
    emulator.remove_subaccount("kucoin", ACCOUNT["api_key"], DESK_A)
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)


def test_listing_longer_than_a_page_is_read_whole(fetch, emulator):
    key = ACCOUNT["api_key"]
    extra = [f"{n:024x}" for n in range(1, 104)]
    for n, sub_id in enumerate(extra):
        emulator.set_subaccount("kucoin", key, sub_id, f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(list_subaccounts=True).subaccounts
    assert {r.id for r in refs} == {DESK_A, DESK_B, *extra}
    assert len(refs) == 105
    assert SubAccountRef(extra[0], "Extra 0") in refs
    assert emulator.count(exchange="kucoin", path=LISTING) == 2


def test_listing_name_is_the_remarks_else_the_subname_else_the_id():
    from portfolio.exchanges import kucoin

    items = [
        {"userId": "a", "remarks": " Desk ", "subName": "s1"},
        {"userId": "b", "remarks": "", "subName": "s2"},
        {"userId": "c", "remarks": None, "subName": ""},
    ]
    refs = kucoin.subaccount_refs({"code": "200000", "data": {"items": items}})
    assert [(r.id, r.name) for r in refs] == [("a", "Desk"), ("b", "s2"), ("c", "c")]


def test_listing_row_without_a_user_id_is_malformed():
    from portfolio.exchanges import kucoin
    from portfolio.exchanges.errors import Malformed

    with pytest.raises(Malformed, match="without userId"):
        kucoin.subaccount_refs({"data": {"items": [{"userId": None, "subName": "s"}]}})
