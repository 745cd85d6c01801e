"""MEXC sub-accounts read with a master key: ccxt's real class over real HTTP to the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges.errors import Malformed
from tests.portfolio.subaccount_support import amounts, fetcher, scenario_account

KEY = scenario_account("mexc")["api_key"]
D = Decimal

# MEXC's listing sends the sub-account's name only: it is both the id and the name.
LISTED = (SubAccountRef("mexcdesk01", "mexcdesk01"), SubAccountRef("mexcdesk02", "mexcdesk02"))
EXPECTED = {
    # the futures USDT 300 of the scenario is not read: MEXC serves a sub-account's SPOT only
    "mexcdesk01": {("BTC", "spot"): "0.625", ("USDT", "spot"): "1500.25"},
    "mexcdesk02": {("MX", "spot"): "75", ("ETH", "spot"): "2.000000000000000001"},
}
LIST_PATH = "/api/v3/sub-account/list"
ASSET_PATH = "/api/v3/sub-account/asset"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "mexc")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch, emulator):
    assert fetch(list_subaccounts=True).subaccounts == LISTED
    assert emulator.count(exchange="mexc", path=LIST_PATH) == 1  # a short page is the last


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_spot_lands_exact(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == {k: D(v) for k, v in EXPECTED[sub].items()}
    assert emulator.count(exchange="mexc", path=ASSET_PATH) == 1
    assert emulator.count(exchange="mexc", path="/api/v3/account") == 0
    assert emulator.count(exchange="mexc", path="/api/v1/private/account/assets") == 0
    assert result.key_permissions is None  # the master's own sync reports them


def test_unknown_subaccount_fails_with_mexcs_words(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="nosuchdesk")
    assert "sub account does not exist" in caught.value.message


def test_removed_subaccount_leaves_the_listing(fetch, emulator):
    emulator.remove_subaccount("mexc", KEY, "mexcdesk01")
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)


def test_added_subaccount_is_listed_and_read(fetch, emulator):
    emulator.set_subaccount("mexc", KEY, "mexcdesk09", "ignored", {"spot": {"BTC": "0.5"}})
    assert SubAccountRef("mexcdesk09", "mexcdesk09") in fetch(list_subaccounts=True).subaccounts
    assert amounts(fetch(subaccount="mexcdesk09")) == {("BTC", "spot"): D("0.5")}


def test_a_listing_of_many_pages_is_read_whole(fetch, emulator):
    for i in range(201):  # one full page of 200 and one of 3 (with the scenario's two)
        emulator.set_subaccount("mexc", KEY, f"mexcbulk{i:03d}", "", {})
    listed = fetch(list_subaccounts=True).subaccounts
    bulk = [f"mexcbulk{i:03d}" for i in range(201)]
    assert [s.id for s in listed] == [s.id for s in LISTED] + bulk
    assert emulator.count(exchange="mexc", path=LIST_PATH) == 2


# The parsers on their own: what a malformed or unexpected answer does.
def test_a_listing_row_without_its_name_is_malformed():
    from portfolio.exchanges import mexc

    with pytest.raises(Malformed, match="without subAccount"):
        mexc.subaccount_refs({"subAccounts": [{"uid": "49910511"}]})


def test_the_pager_asks_for_the_next_page_after_a_full_one_only():
    from portfolio.exchanges import mexc

    params = {"page": 1, "limit": 2}
    full = {"subAccounts": [{}, {}]}
    assert mexc.subaccount_next_page(full, params) == {"page": 2, "limit": 2}
    assert mexc.subaccount_next_page({"subAccounts": [{}]}, params) is None
    assert mexc.subaccount_next_page({"nothing": 1}, params) is None
