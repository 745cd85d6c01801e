"""Crypto.com sub-accounts read with a master key: ccxt's real class over real HTTP to the
emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.rows import Page
from tests.portfolio.subaccount_support import amounts, fetcher, scenario_account

KEY = scenario_account("cryptocom")["api_key"]
D = Decimal
DESK_A = "a0d206a1-6b06-47c5-9cd3-8bc6ef0915c5"
DESK_B = "49786818-6ead-40c4-a008-ea6b0fa5cf96"

LISTED = (SubAccountRef(DESK_A, "Desk A"), SubAccountRef(DESK_B, "Desk B"))
EXPECTED = {
    # Desk A's staked SOL 5 is not read: a master key has no call for it.
    DESK_A: {
        ("BTC", "spot"): "0.75",
        ("USDT", "spot"): "450.5",  # free 400 and 50.5 reserved
        ("USD", "spot"): "1000",
        ("ETH", "margin"): "-0.5005",  # 0.5 borrowed and 0.0005 interest
        ("USD", "futures"): "-20.25",  # the session's unrealised PnL
    },
    DESK_B: {("CRO", "spot"): "2500.123456789012345678", ("USD", "spot"): "10"},
}
LIST_PATH = "/exchange/v1/private/get-accounts"
BALANCES_PATH = "/exchange/v1/private/get-subaccount-balances"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "cryptocom")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch, emulator):
    assert fetch(list_subaccounts=True).subaccounts == LISTED
    assert emulator.count(exchange="cryptocom", path=LIST_PATH) == 1  # a short page is the last


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_balances_land_exact_with_their_products(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == {k: D(v) for k, v in EXPECTED[sub].items()}
    assert emulator.count(exchange="cryptocom", path=BALANCES_PATH) == 1
    assert emulator.count(exchange="cryptocom", path="/exchange/v1/private/user-balance") == 0
    staking = "/exchange/v1/private/staking/get-staking-position"
    assert emulator.count(exchange="cryptocom", path=staking) == 0
    assert result.key_permissions is None  # the master's own sync reports them


def test_unknown_subaccount_is_a_fault_not_an_empty_subaccount(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="00000000-0000-0000-0000-000000000000")
    assert caught.value.kind == "exchange_error"
    assert "lists no sub-account 00000000-0000-0000-0000-000000000000" in caught.value.message


def test_removed_subaccount_leaves_the_listing_and_cannot_be_read(fetch, emulator):
    emulator.remove_subaccount("cryptocom", KEY, DESK_A)
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)
    with pytest.raises(ExchangeFault, match="lists no sub-account"):
        fetch(subaccount=DESK_A)


def test_an_empty_subaccount_reads_as_empty(fetch, emulator):
    emulator.set_subaccount("cryptocom", KEY, "desk-c-uuid", "Desk C", {})
    assert SubAccountRef("desk-c-uuid", "Desk C") in fetch(list_subaccounts=True).subaccounts
    assert amounts(fetch(subaccount="desk-c-uuid")) == {}


def test_a_listing_of_many_pages_is_read_whole(fetch, emulator):
    bulk = [f"bulk-{i:03d}" for i in range(39)]  # 2 + 39: pages of 20, 20 and 1
    for sub_id in bulk:
        emulator.set_subaccount("cryptocom", KEY, sub_id, f"Bulk {sub_id}", {})
    listed = fetch(list_subaccounts=True).subaccounts
    assert [s.id for s in listed] == [DESK_A, DESK_B, *bulk]
    assert emulator.count(exchange="cryptocom", path=LIST_PATH) == 3


# The parsers on their own: what a malformed or unexpected answer does.
def test_listing_name_is_the_label_else_the_name_else_the_uuid():
    from portfolio.exchanges import cryptocom

    payload = {
        "result": {
            "master_account": {"uuid": "m"},
            "sub_account_list": [
                {"uuid": "u1", "label": " Desk ", "name": "n1"},
                {"uuid": "u2", "label": "", "name": "n2"},
                {"uuid": "u3"},
            ],
        }
    }
    refs = cryptocom.subaccount_refs(payload)
    assert [(r.id, r.name) for r in refs] == [("u1", "Desk"), ("u2", "n2"), ("u3", "u3")]
    with pytest.raises(Malformed, match="without uuid"):
        cryptocom.subaccount_refs({"result": {"sub_account_list": [{"label": "x"}]}})


def test_a_balances_answer_without_its_list_is_malformed():
    from portfolio.exchanges import cryptocom

    with pytest.raises(Malformed):
        list(cryptocom.sub_balance(DESK_A)(None, Page({"result": {}}, "")))


def test_the_pager_asks_for_the_next_page_after_a_full_one_only():
    from portfolio.exchanges import cryptocom

    params = {"page_size": 2, "page": 0}
    full = {"result": {"sub_account_list": [{}, {}]}}
    assert cryptocom.subaccount_next_page(full, params) == {"page_size": 2, "page": 1}
    short = {"result": {"sub_account_list": [{}]}}
    assert cryptocom.subaccount_next_page(short, params) is None
