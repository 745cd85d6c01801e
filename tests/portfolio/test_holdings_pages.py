"""Holdings pages: price, USD value, share of the portfolio and totals, exactly; formatted
numbers; one label per product; unpriced holdings say why, never zero."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolio.models import LocationKind, Price
from portfolio.selectors import holdings_table
from portfolio.templatetags.amounts import exact, is_rounded, pct, price, product_label, qty, usd
from tests.conftest import login
from tests.factories import AssetFactory, LocationFactory, SelfCustodyFactory, book, priced

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund(tenants):
    """Fund A: a custodian account with spot, staking and a margin debt, a wallet with one
    satoshi, an asset without any price and one whose last quote was refused."""
    btc, eth = priced("BTC", "65432.10"), priced("ETH", "3210.987654")
    usdt = priced("USDT", "1.0001")
    foo = AssetFactory.create(code="FOO")
    bar = AssetFactory.create(code="BAR")
    Price.objects.create(
        asset=bar, price_usd=None, source="binance", as_of=timezone.now(),
        refused_reason="quote 10x above the last price",
    )  # fmt: skip
    custodian = LocationFactory.create(
        portfolio=tenants.fund_a, name="Anchorage", kind=LocationKind.CUSTODIAN
    )
    book(custodian, {btc: "10.5"})
    snapshot = custodian.snapshots.get()
    snapshot.holdings.create(asset=eth, product="staking", amount=Decimal("300"))
    snapshot.holdings.create(asset=usdt, product="margin", amount=Decimal("-1000.25"))
    snapshot.holdings.create(asset=foo, product="earn", amount=Decimal("5"))
    cold = SelfCustodyFactory.create(portfolio=tenants.fund_a, name="cold")
    book(cold, {btc: "0.00000001", bar: "2"})
    return {"custodian": custodian, "cold": cold}


NAV = Decimal("1649332.9968293210")


def values(table) -> list[tuple[str, str, str, Decimal, Decimal | None, Decimal | None]]:
    return [
        (r.asset.code, r.product, r.location.name, r.amount, r.value, r.share) for r in table.rows
    ]


def test_every_holding_is_valued_exactly_with_its_share_of_the_portfolio(fund, tenants):
    table = holdings_table(tenants.fund_a, stake=None)
    assert values(table) == [
        ("BTC", "Spot", "Anchorage", Decimal("10.5"), Decimal("687037.050"),
         Decimal("0.416554480703")),
        ("ETH", "Staking", "Anchorage", Decimal("300"), Decimal("963296.296200"),
         Decimal("0.584052036824")),
        ("FOO", "Earn / lending", "Anchorage", Decimal("5"), None, None),
        ("USDT", "Margin", "Anchorage", Decimal("-1000.25"), Decimal("-1000.350025"),
         Decimal("-0.000606517924")),
        ("BAR", "Spot", "cold", Decimal("2"), None, None),
        ("BTC", "Spot", "cold", Decimal("1E-8"), Decimal("0.0006543210"), Decimal("3.97E-10")),
    ]  # fmt: skip
    assert table.total == table.portfolio_nav == NAV
    assert table.assets == Decimal("1650333.3468543210")
    assert table.liabilities == Decimal("-1000.350025")
    assert table.share == Decimal("1")
    reasons = {row.asset.code: row.unpriced_reason for row in table.unpriced}
    assert reasons == {"FOO": "no price recorded", "BAR": "quote 10x above the last price"}


def test_a_location_keeps_the_portfolio_as_denominator(fund, tenants):
    table = holdings_table(tenants.fund_a, stake=None, location=fund["custodian"])
    assert {row.location.name for row in table.rows} == {"Anchorage"}
    assert table.portfolio_nav == NAV
    assert table.total == Decimal("1649332.996175")
    assert table.share == Decimal("0.999999999603")


def test_an_investor_sees_their_share_of_amounts_and_values(fund, tenants):
    table = holdings_table(tenants.fund_a, stake=Decimal("0.25"))
    btc = table.rows[0]
    assert (btc.amount, btc.price, btc.value) == (
        Decimal("2.625"),
        Decimal("65432.10"),
        Decimal("171759.26250"),
    )
    assert btc.share == Decimal("0.416554480703")  # a share of the portfolio is unchanged
    assert table.total == Decimal("412333.249207330250")


def page(client, url: str) -> str:
    return " ".join(client.get(url).content.decode().split())


def test_the_portfolio_page_shows_prices_values_shares_and_totals(fund, tenants):
    text = page(login(tenants.alice), reverse("portfolio:portfolio_detail", args=["fund-a"]))
    assert (
        '<td>Anchorage</td><td>BTC</td><td>Spot</td> <td class="num">10.5</td> '
        '<td class="num">65,432.10 <span class="muted small" title="entered by hand">manual'
        '</span></td> <td class="num">687,037.05</td><td class="num">41.66%</td>'
    ) in text
    assert '<td class="num">963,296.30</td>' in text and "Staking" in text
    assert '<td class="num">-1,000.35</td>' in text and "Margin" in text
    assert "Earn / lending" in text
    assert '<span class="badge warn">unpriced</span> no price recorded' in text
    assert '<span class="badge warn">unpriced</span> quote 10x above the last price' in text
    assert 'id="holdings-total">1,649,333.00</td>' in text
    assert "2 unpriced not included" in text
    assert 'Liabilities</th><td class="num">-1,000.35' in text


def test_an_amount_rounded_for_display_carries_its_exact_value(tenants):
    btc = priced("BTC", "50000")
    cold = SelfCustodyFactory.create(portfolio=tenants.fund_a, name="cold")
    book(cold, {btc: "1234.123456789012345678"})
    text = page(login(tenants.alice), reverse("portfolio:location_detail", args=[cold.pk]))
    assert '<td class="num" title="exactly 1,234.123456789012345678">1,234.12345679</td>' in text
    assert '<td class="num">61,706,172.84</td>' in text  # the value of the exact amount


def test_the_investor_page_is_scaled(fund, tenants):
    text = page(login(tenants.bob), reverse("portfolio:portfolio_detail", args=["fund-a"]))
    assert "Your share: 25.00% of the portfolio" in text
    assert '<td class="num">2.625</td>' in text and '<td class="num">171,759.26</td>' in text
    assert 'id="holdings-total">412,333.25</td>' in text
    assert "687,037.05" not in text


def test_the_manual_holdings_page_values_each_location(fund, tenants):
    text = page(login(tenants.alice), reverse("manual:holdings", args=["fund-a"]))
    assert '<td class="num">687,037.05</td><td class="num">41.66%</td>' in text
    assert 'Total (priced; 1 unpriced not included)</th><td class="num">1,649,333.00' in text
    assert "Earn / lending" in text and "Staking" in text


@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_sees_no_holdings_page(fund, tenants, who):
    client = login(getattr(tenants, who))
    for url in (
        reverse("portfolio:portfolio_detail", args=["fund-a"]),
        reverse("portfolio:location_detail", args=[fund["cold"].pk]),
        reverse("manual:holdings", args=["fund-a"]),
    ):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("function", "value", "shown"),
    [
        (usd, Decimal("1234567.891"), "1,234,567.89"),
        (usd, Decimal("-0.004"), "0.00"),
        (usd, Decimal("1E+3"), "1,000.00"),
        (qty, Decimal("1234.5000"), "1,234.5"),
        (qty, Decimal("0.000000001"), "0.000000001"),  # too small to round: shown whole
        (qty, Decimal("2.123456789"), "2.12345679"),
        (price, Decimal("65432.1"), "65,432.10"),
        (price, Decimal("0.000012345678"), "0.00001235"),
        (price, Decimal("1.00010000"), "1.0001"),
        (pct, Decimal("0.416554480703"), "41.66%"),
        (pct, Decimal("-0.0006"), "-0.06%"),
        (exact, Decimal("1E-8"), "0.00000001"),
        (product_label, "earn", "Earn / lending"),
        (product_label, "options", "Options"),
        (usd, None, ""),
    ],
)
def test_numbers_are_written_with_separators_and_sensible_decimals(function, value, shown):
    assert function(value) == shown


def test_is_rounded_says_when_the_display_hides_digits():
    assert is_rounded(Decimal("2.123456789")) and not is_rounded(Decimal("2.5"))
