from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from portfolio.models import (
    Asset,
    AssetKind,
    CounterpartyKind,
    Holding,
    HoldingSnapshot,
    SnapshotSource,
)
from tests.conftest import login
from tests.factories import (
    AssetFactory,
    CounterpartyFactory,
    ExchangeAccountFactory,
    SelfCustodyFactory,
)
from tests.portfolio.test_imports import stored_holdings

HEADER = "location,location_kind,custodian,asset,product,amount\n"


@pytest.fixture
def cold(tenants):
    AssetFactory.create(code="BTC")
    CounterpartyFactory.create(slug="anchorage", kind=CounterpartyKind.CUSTODIAN)
    return SelfCustodyFactory.create(portfolio=tenants.fund_a, name="Cold wallet")


def url(name: str, fund) -> str:
    return reverse(f"manual:{name}", args=[fund.slug])


def upload(client: Client, fund, content: bytes, name: str = "holdings.csv"):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(url("upload", fund), {"file": file})


def current(location) -> dict[tuple[str, str], Decimal]:
    snapshot = location.snapshots.order_by("-taken_at", "-pk").first()
    return {(h.asset.code, h.product): h.amount for h in snapshot.holdings.all()}


def test_page_lists_manual_locations_only(cold, tenants):
    ExchangeAccountFactory.create(location__portfolio=tenants.fund_a, location__name="Binance main")
    page = login(tenants.alice).get(url("holdings", tenants.fund_a)).content.decode()
    assert "Cold wallet" in page and "Binance main" not in page
    assert "csrfmiddlewaretoken" in page


def test_manager_uploads_a_csv_and_is_redirected_with_counts(cold, tenants):
    client = login(tenants.alice)
    response = upload(
        client, tenants.fund_a, (HEADER + "Cold wallet,self_custody,,BTC,,2.5\n").encode()
    )
    assert response.status_code == 302 and response.url == url("holdings", tenants.fund_a)
    assert current(cold) == {("BTC", "spot"): Decimal("2.5")}
    snapshot = cold.snapshots.get()
    assert snapshot.source == SnapshotSource.IMPORT and snapshot.created_by == tenants.alice
    assert stored_holdings(tenants.fund_a) == [
        ("Cold wallet", "self_custody", None, "BTC", "spot", Decimal("2.5"), "import")
    ]
    page = client.get(response.url).content.decode()
    assert "Imported 1 location(s) replaced (0 new), 1 holding(s)." in page


def test_manager_sees_upload_errors_by_line(cold, tenants):
    content = HEADER + "Cold wallet,self_custody,,BTC,,abc\nVault,custodian,,BTC,,1\n"
    response = upload(login(tenants.alice), tenants.fund_a, content.encode())
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported: 2 errors." in page
    assert '<td class="num">2</td><td>amount</td><td>&#x27;abc&#x27; is not a decimal' in page
    assert '<td class="num">3</td><td>custodian</td><td>required for a custodian' in page
    assert not HoldingSnapshot.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The submitted file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "this is not a CSV file: it contains binary data"),
        ("caf\xe9".encode("latin-1"), "line 1: the file is not UTF-8 text"),
    ],
)
def test_garbage_upload_is_a_form_error(cold, tenants, content, expected):
    response = upload(login(tenants.alice), tenants.fund_a, content)
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not HoldingSnapshot.objects.exists()


def test_upload_without_a_file_is_a_form_error(cold, tenants):
    response = login(tenants.alice).post(url("upload", tenants.fund_a), {})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not HoldingSnapshot.objects.exists()


def test_manager_sets_one_holding(cold, tenants):
    client = login(tenants.alice)
    data = {"location": cold.pk, "asset": "btc", "product": "staking", "amount": "-0.125"}
    response = client.post(url("set_holding", tenants.fund_a), data)
    assert response.status_code == 302
    assert current(cold) == {("BTC", "staking"): Decimal("-0.125")}
    snapshot = cold.snapshots.get()
    assert snapshot.source == SnapshotSource.MANUAL and snapshot.created_by == tenants.alice
    assert stored_holdings(tenants.fund_a) == [
        ("Cold wallet", "self_custody", None, "BTC", "staking", Decimal("-0.125"), "manual")
    ]
    assert "Cold wallet now holds -0.125 BTC." in client.get(response.url).content.decode()


def test_manager_adds_a_new_location_with_its_first_holding(cold, tenants):
    data = {
        "new_location_name": "Vault",
        "new_location_kind": "custodian",
        "new_location_custodian": "anchorage",
        "asset": "ETH",
        "product": "spot",
        "amount": "10",
    }
    response = login(tenants.alice).post(url("set_holding", tenants.fund_a), data)
    assert response.status_code == 302
    vault = tenants.fund_a.locations.get(name="Vault")
    assert vault.custodian.slug == "anchorage"
    assert current(vault) == {("ETH", "spot"): Decimal("10")}
    assert vault.snapshots.get().created_by == tenants.alice
    assert stored_holdings(tenants.fund_a) == [
        ("Vault", "custodian", "anchorage", "ETH", "spot", Decimal("10"), "manual")
    ]
    assert Asset.objects.get(code="ETH").kind == AssetKind.UNCLASSIFIED  # unknown until now


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"asset": "BTC", "product": "spot", "amount": "1"}, "Choose a location above"),
        (
            {"location": "999999", "asset": "BTC", "product": "spot", "amount": "1"},
            "Select a valid",
        ),
        ({"location": "abc", "asset": "BTC", "product": "spot", "amount": "1"}, "Select a valid"),
        (
            {"location": "{cold}", "asset": "BTC", "product": "spot", "amount": "1e5"},
            "not a decimal",
        ),
        ({"location": "{cold}", "asset": "B TC", "product": "spot", "amount": "1"}, "not an asset"),
        (
            {"location": "{cold}", "asset": "BTC", "product": "swap", "amount": "1"},
            "Select a valid",
        ),
        # A NUL character is refused before any form (tests/config/test_middleware.py).
        (
            {
                "new_location_name": "Vault",
                "new_location_kind": "custodian",
                "asset": "BTC",
                "product": "spot",
                "amount": "1",
            },
            "required for a custodian location",
        ),
        (
            {
                "new_location_name": "Cold wallet",
                "new_location_kind": "self_custody",
                "asset": "BTC",
                "product": "spot",
                "amount": "1",
            },
            "A location with this name already exists.",
        ),
    ],
)
def test_bad_holding_input_is_a_form_error(cold, tenants, data, expected):
    data = {key: value.replace("{cold}", str(cold.pk)) for key, value in data.items()}
    response = login(tenants.alice).post(url("set_holding", tenants.fund_a), data)
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not HoldingSnapshot.objects.exists()


def test_exchange_synced_and_foreign_locations_cannot_be_chosen(cold, tenants):
    synced = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a).location
    foreign = SelfCustodyFactory.create(portfolio=tenants.fund_b)
    client = login(tenants.alice)
    for location in (synced, foreign):
        data = {"location": location.pk, "asset": "BTC", "product": "spot", "amount": "1"}
        response = client.post(url("set_holding", tenants.fund_a), data)
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Holding.objects.exists()


def test_admin_may_use_the_page(cold, tenants):
    assert login(tenants.ada).get(url("holdings", tenants.fund_a)).status_code == 200


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_investors_and_other_tenants_get_404_on_every_page(cold, tenants, who):
    client = login(getattr(tenants, who))
    assert client.get(url("holdings", tenants.fund_a)).status_code == 404
    data = {"location": cold.pk, "asset": "BTC", "product": "spot", "amount": "1"}
    assert client.post(url("set_holding", tenants.fund_a), data).status_code == 404
    content = (HEADER + "Cold wallet,self_custody,,BTC,,1\n").encode()
    assert upload(client, tenants.fund_a, content).status_code == 404
    assert not HoldingSnapshot.objects.exists()


def test_investor_gets_404_even_on_their_own_portfolio_page(cold, tenants):
    assert login(tenants.dora).get(url("holdings", tenants.fund_b)).status_code == 404


@pytest.mark.parametrize(
    ("method", "name"), [("get", "holdings"), ("post", "set_holding"), ("post", "upload")]
)
def test_anonymous_is_sent_to_login(cold, tenants, client, method, name):
    response = getattr(client, method)(url(name, tenants.fund_a))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_posting_without_csrf_token_is_refused(cold, tenants):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenants.alice)
    data = {"location": cold.pk, "asset": "BTC", "product": "spot", "amount": "1"}
    assert client.post(url("set_holding", tenants.fund_a), data).status_code == 403
    assert not HoldingSnapshot.objects.exists()
