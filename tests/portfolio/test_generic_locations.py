"""An exchange read by the generic adapter: its counterparty when the registry lacks it, and what
the location page and the report say it does not read."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from portfolio.admin import CounterpartyAdmin
from portfolio.models import Counterparty, CounterpartyKind, RatingTier
from portfolio.registry import is_unclassified_exchange, load_registry
from portfolio.services import create_exchange_account
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import ExchangeAccountFactory, LocationFactory, PortfolioFactory, worked_check

pytestmark = pytest.mark.django_db

NOT_READ = "spot and the listed account types; earn and staking not read"


def text_of(response) -> str:
    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_exchange_without_a_counterparty_is_created_unrated():
    account = create_exchange_account(
        portfolio=PortfolioFactory.create(), name="Bitvavo main", exchange_id="bitvavo"
    )
    counterparty = account.location.custodian
    assert counterparty == Counterparty.objects.get(slug="bitvavo")
    assert (counterparty.name, counterparty.kind, counterparty.rating_tier) == (
        "Bitvavo",
        CounterpartyKind.EXCHANGE,
        RatingTier.UNRATED,
    )
    assert counterparty.registry_digest == ""
    assert is_unclassified_exchange(counterparty)
    assert "An admin should set its legal name, jurisdiction, group and tier" in (
        counterparty.rating_note
    )


def test_the_registry_classifies_an_exchange_created_unrated():
    create_exchange_account(
        portfolio=PortfolioFactory.create(), name="KuCoin main", exchange_id="kucoin"
    )
    report = load_registry()
    kucoin = Counterparty.objects.get(slug="kucoin")
    assert "kucoin" not in report.kept
    assert (kucoin.name, kucoin.rating_tier, kucoin.jurisdiction) == ("KuCoin", "C", "Seychelles")
    assert not is_unclassified_exchange(kucoin)


def test_a_counterparty_an_admin_made_by_hand_stays_as_the_admin_made_it():
    Counterparty.objects.create(slug="kucoin", name="KuCoin (ours)", kind="exchange")
    assert "kucoin" in load_registry().kept
    assert Counterparty.objects.get(slug="kucoin").name == "KuCoin (ours)"


def test_location_page_says_what_the_generic_adapter_does_not_read(tenants):
    location = LocationFactory.create(portfolio=tenants.fund_a, name="Latoken main")
    ExchangeAccountFactory.create(location=location, exchange_id="latoken", wallets=["spot"])
    url = reverse("portfolio:location_detail", args=[location.pk])
    text = text_of(login(tenants.alice).get(url))
    assert "Exchange: Latoken (latoken)" in text
    assert f"Read by the generic adapter: {NOT_READ}. Holdings there may be higher" in text


def test_location_page_of_a_dedicated_adapter_says_nothing_of_it(tenants):
    location = LocationFactory.create(portfolio=tenants.fund_a, name="OKX main")
    ExchangeAccountFactory.create(location=location, exchange_id="okx", wallets=["spot"])
    url = reverse("portfolio:location_detail", args=[location.pk])
    assert "generic adapter" not in text_of(login(tenants.alice).get(url))


def test_report_says_which_locations_are_read_only_in_part(tenants):
    locations = worked_check(tenants.fund_a)
    ExchangeAccountFactory.create(location=locations["okx"], exchange_id="okx")
    ExchangeAccountFactory.create(location=locations["kraken"], exchange_id="bitvavo")
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    text = text_of(login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"])))
    assert f"Not every wallet is read at kraken: the generic adapter reads {NOT_READ}." in text


def test_the_registry_listing_says_which_adapter_reads_each_exchange():
    listing = CounterpartyAdmin(Counterparty, admin.site)
    rows = {
        "binance": Counterparty(slug="binance", kind=CounterpartyKind.EXCHANGE),
        "upbit": Counterparty(slug="upbit", kind=CounterpartyKind.EXCHANGE),
        "ftx": Counterparty(slug="ftx", kind=CounterpartyKind.EXCHANGE),
        "bitgo": Counterparty(slug="bitgo", kind=CounterpartyKind.CUSTODIAN),
    }
    assert {slug: listing.read_by(row) for slug, row in rows.items()} == {
        "binance": "dedicated adapter",
        "upbit": f"generic adapter ({NOT_READ})",
        "ftx": "no adapter: enter its balances by hand",
        "bitgo": "—",
    }
    assert "read_by" in listing.list_display


def test_the_listing_flags_an_exchange_still_to_classify():
    account = create_exchange_account(
        portfolio=PortfolioFactory.create(), name="Bitvavo main", exchange_id="bitvavo"
    )
    listing = CounterpartyAdmin(Counterparty, admin.site)
    assert listing.read_by(account.location.custodian) == (
        f"generic adapter ({NOT_READ}); not classified yet"
    )
