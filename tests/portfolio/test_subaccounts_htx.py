"""HTX sub-users read with a master key: ccxt's real class over real HTTP to the emulator."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.rows import Page
from tests.portfolio.subaccount_support import amounts, fetcher

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = next(a for a in json.loads(SCENARIO.read_text())["accounts"] if a["exchange"] == "htx")
CREDENTIALS = {"apiKey": RAW["api_key"], "secret": RAW["secret"]}
D = Decimal

LISTED = (SubAccountRef("63000201", "Desk A"), SubAccountRef("63000202", "Desk B"))
EXPECTED = {
    "63000201": {
        ("BTC", "spot"): "1.25",  # trade 1 + frozen 0.25
        ("USDT", "spot"): "800.123456789",
        ("USDT", "funding"): "150",  # the otc account
    },
    "63000202": {
        ("ETH", "spot"): "3",
        ("BTC", "margin"): "0.1",
        ("USDT", "margin"): "299.75",  # 500 - 200 loan - 0.25 interest
        ("USDT", "earn"): "300",  # the deposit-earning account
    },
}
LISTING = "/v2/sub-user/user-list"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "htx")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_wallets_land_exact_with_their_products(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == {k: D(v) for k, v in EXPECTED[sub].items()}
    # One request serves the four wallets; the master's own accounts are not asked.
    assert emulator.count(exchange="htx", path=f"/v1/account/accounts/{sub}") == 1
    assert emulator.count(exchange="htx", path="/v1/account/accounts") == 0
    assert result.key_permissions is None  # the master's own sync reports them


def test_unknown_subaccount_fails_with_htxs_words(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="99999999")
    assert caught.value.kind == "exchange_error"
    assert "account for the sub-user not exist" in caught.value.message


def test_removed_subaccount_leaves_the_listing(fetch, emulator):
    emulator.remove_subaccount("htx", RAW["api_key"], "63000201")
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)


def test_added_subaccount_is_listed_and_read(fetch, emulator):
    emulator.set_subaccount("htx", RAW["api_key"], "63000209", "Desk C", {"otc": {"BTC": "0.5"}})
    assert SubAccountRef("63000209", "Desk C") in fetch(list_subaccounts=True).subaccounts
    assert amounts(fetch(subaccount="63000209")) == {("BTC", "funding"): D("0.5")}


def test_listing_longer_than_a_page_is_read_whole(fetch, emulator):
    for n in range(103):
        emulator.set_subaccount("htx", RAW["api_key"], str(64_000_000 + n), f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(list_subaccounts=True).subaccounts
    assert len(refs) == 105
    assert {r.id for r in refs} == {r.id for r in LISTED} | {
        str(64_000_000 + n) for n in range(103)
    }
    assert {r.name for r in refs if r.id == "64000102"} == {"Extra 102"}
    assert emulator.count(exchange="htx", path=LISTING) == 2


# The parsers and pager on their own: what a malformed or unexpected answer does.
def test_a_subuser_account_of_an_unknown_type_is_malformed():
    from portfolio.exchanges import htx

    page = Page({"status": "ok", "data": [{"id": 1, "type": "vault", "list": []}]}, "")
    with pytest.raises(Malformed, match="vault"):
        list(htx.sub_user_balance("spot")(None, page))


def test_listing_name_is_the_note_else_the_username_else_the_uid():
    from portfolio.exchanges import htx

    rows = [
        {"uid": 1, "note": " Desk ", "subUserName": "u1"},
        {"uid": 2, "note": "", "subUserName": "u2"},
        {"uid": 3},
    ]
    refs = htx.subaccount_refs({"code": 200, "data": rows})
    assert [(r.id, r.name) for r in refs] == [("1", "Desk"), ("2", "u2"), ("3", "3")]
    with pytest.raises(Malformed, match="without uid"):
        htx.subaccount_refs({"code": 200, "data": [{"note": "x"}]})


def test_pager_follows_next_id_and_refuses_a_garbled_one():
    from portfolio.exchanges import htx

    assert htx.subaccount_next_page({"data": [], "nextId": 7}, {}) == {"fromId": "7"}
    assert htx.subaccount_next_page({"data": []}, {"fromId": "7"}) is None
    with pytest.raises(Malformed, match="nextId"):
        htx.subaccount_next_page({"data": [], "nextId": "x"}, {})
