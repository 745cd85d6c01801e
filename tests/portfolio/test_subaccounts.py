"""Sub-account locations follow the master key's listing; the same key is never stored twice."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from portfolio import exchanges
from portfolio.exchanges import SubAccountRef
from portfolio.models import CustodyLocation, ExchangeAccount, SyncOutcome, SyncRound, SyncRun
from portfolio.rounds import syncable_accounts
from portfolio.services import create_exchange_account, set_exchange_credentials
from portfolio.subaccounts import follow_listing
from riskmodels.models import SYNC_RULE, Alert, AlertLevel
from tests.conftest import login
from tests.factories import ExchangeAccountFactory, SyncRunFactory

KEY = {"apiKey": "master-key", "secret": "master-secret"}


@pytest.fixture
def master(tenants):
    account = create_exchange_account(
        portfolio=tenants.fund_a,
        name="Binance main",
        exchange_id="binance",
        credentials=KEY,
        include_subaccounts=True,
    )
    return account


def listing(*pairs):
    return [SubAccountRef(i, n) for i, n in pairs]


def follow(master, refs, sync_round=None):
    run = SyncRunFactory.create(
        location=master.location,
        sync_round=sync_round,
        outcome=SyncOutcome.SUCCESS,
        finished_at=timezone.now(),
    )
    return follow_listing(master, refs, run=run, now=timezone.now())


def test_each_listed_subaccount_becomes_a_location_under_the_same_custodian(master):
    follow(master, listing(("desk-a@fund.example", "Desk A"), ("basis@fund.example", "basis")))
    subs = ExchangeAccount.objects.filter(master=master).order_by("subaccount")
    assert [(a.subaccount, a.location.name) for a in subs] == [
        ("basis@fund.example", "Binance main / basis"),
        ("desk-a@fund.example", "Binance main / Desk A"),
    ]
    for sub in subs:
        assert sub.location.custodian_id == master.location.custodian_id
        assert sub.location.portfolio_id == master.location.portfolio_id
        assert (sub.exchange_id, sub.wallets, sub.credentials_encrypted) == (
            "binance",
            master.wallets,
            "",
        )


def test_new_subaccounts_join_the_masters_round_which_waits_for_them(master, tenants):
    sync_round = SyncRound.objects.create(
        portfolio=tenants.fund_a, started_at=timezone.now(), location_count=1,
        location_ids=[master.pk],
    )  # fmt: skip
    added = follow(master, listing(("a", "A"), ("b", "B")), sync_round)
    sync_round.refresh_from_db()
    assert sync_round.location_count == 3
    assert sync_round.location_ids == [master.pk, *added]


def test_a_subaccount_named_like_an_existing_location_gets_a_number(master, tenants):
    CustodyLocation.objects.create(
        portfolio=tenants.fund_a, name="Binance main / Desk A", kind="self_custody"
    )
    follow(master, listing(("a", "Desk A")))
    assert ExchangeAccount.objects.get(master=master).location.name == "Binance main / Desk A (2)"


def test_a_subaccount_listed_again_is_the_same_location_not_a_new_one(master):
    follow(master, listing(("a", "A")))
    assert follow(master, listing(("a", "A renamed"))) == []
    assert ExchangeAccount.objects.filter(master=master).count() == 1


def test_a_subaccount_no_longer_listed_is_kept_marked_and_raises_an_alert(
    master, django_capture_on_commit_callbacks
):
    follow(master, listing(("a", "A"), ("b", "B")))
    gone = ExchangeAccount.objects.get(master=master, subaccount="b")
    with django_capture_on_commit_callbacks(execute=True):
        follow(master, listing(("a", "A")))
    gone.refresh_from_db()
    assert gone.subaccount_missing_since is not None
    assert CustodyLocation.objects.filter(pk=gone.pk).exists()  # never deleted
    run = SyncRun.objects.filter(location=gone.location).latest("pk")
    assert (run.outcome, run.error_class) == (SyncOutcome.FAILED, "SubAccountGone")
    assert "no longer lists sub-account “b”" in run.error_message
    alert = Alert.objects.get(rule=SYNC_RULE, subject=str(gone.pk))
    assert alert.level == AlertLevel.WARN
    # Not synced while missing; synced again once listed again.
    assert gone.pk not in {a.pk for a in syncable_accounts(master.location.portfolio)}
    assert follow(master, listing(("a", "A"), ("b", "B"))) == [gone.pk]
    gone.refresh_from_db()
    assert gone.subaccount_missing_since is None
    assert gone.pk in {a.pk for a in syncable_accounts(master.location.portfolio)}


def test_a_round_syncs_subaccounts_only_while_the_masters_key_is_usable(master):
    follow(master, listing(("a", "A")))
    sub = ExchangeAccount.objects.get(master=master)
    portfolio = master.location.portfolio
    assert {a.pk for a in syncable_accounts(portfolio)} == {master.pk, sub.pk}
    ExchangeAccount.objects.filter(pk=master.pk).update(credentials_broken_at=timezone.now())
    assert syncable_accounts(portfolio) == []


def test_the_same_key_in_another_portfolio_is_refused_without_naming_it(master, tenants):
    other = ExchangeAccountFactory.create(location__portfolio=tenants.fund_b)
    with pytest.raises(ValidationError) as refused:
        set_exchange_credentials(account=other, credentials=dict(KEY))
    assert "already used by another portfolio" in str(refused.value)
    assert "Binance main" not in str(refused.value)
    other.refresh_from_db()
    assert other.credentials_encrypted == ""


def test_the_same_key_twice_in_one_portfolio_names_the_location(master, tenants):
    with pytest.raises(ValidationError, match="the location “Binance main” of this portfolio"):
        create_exchange_account(
            portfolio=tenants.fund_a, name="again", exchange_id="binance", credentials=dict(KEY)
        )
    assert not CustodyLocation.objects.filter(name="again").exists()  # nothing half made


def test_the_same_key_on_another_exchange_is_another_account(master, tenants):
    create_exchange_account(
        portfolio=tenants.fund_b,
        name="okx",
        exchange_id="okx",
        credentials={**KEY, "password": "p"},
    )
    assert ExchangeAccount.objects.exclude(key_fingerprint="").count() == 2


def test_a_wallet_address_is_one_account_whatever_its_case(tenants):
    address = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
    first = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    second = ExchangeAccountFactory.create(location__portfolio=tenants.fund_b)
    set_exchange_credentials(account=first, credentials={"walletAddress": address})
    with pytest.raises(ValidationError):
        set_exchange_credentials(account=second, credentials={"walletAddress": address.lower()})


def test_the_form_refuses_a_key_stored_elsewhere_with_a_clear_message(master, tenants):
    client = login(tenants.charlie)  # manages fund B
    url = reverse("sources:add_exchange_account", args=["fund-b"])
    response = client.post(
        url, {"name": "copy", "exchange": "binance", "wallets": ["spot"], **form_key(KEY)}
    )
    assert response.status_code == 200
    assert "This API key is already used by another portfolio" in response.content.decode()
    assert not CustodyLocation.objects.filter(name="copy").exists()


def test_the_form_offers_subaccounts_only_where_they_can_be_read(tenants):
    client = login(tenants.alice)
    url = reverse("sources:add_exchange_account", args=["fund-a"])
    response = client.post(
        url,
        {"name": "k", "exchange": "kraken", "wallets": ["spot"], "include_subaccounts": "on",
         **form_key(KEY)},
    )  # fmt: skip
    readable = exchanges.subaccount_exchanges()
    assert "kraken" not in readable and {"binance", "okx", "bybit"} <= set(readable)
    names = ", ".join(readable.values())
    assert f"Sub-accounts can be read for: {names}." in response.content.decode()
    assert not CustodyLocation.objects.filter(name="k").exists()


def test_a_subaccounts_edit_page_asks_for_no_key(master, tenants):
    follow(master, listing(("a", "A")))
    sub = ExchangeAccount.objects.get(master=master)
    html = login(tenants.alice).get(reverse("sources:edit_exchange_account", args=[sub.pk]))
    page = html.content.decode()
    assert "read with the key of" in page
    assert 'name="api_key"' not in page and 'name="include_subaccounts"' not in page


def form_key(credentials):
    return {"api_key": credentials["apiKey"], "secret": credentials["secret"]}
