"""Exports: holdings and exposures CSV (exact content), and the PDF printed by real Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from riskmodels.exports import CHROMIUM
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import AssetFactory, book, worked_check

pytestmark = pytest.mark.django_db

HOLDINGS_HEADER = "location,kind,custodian,group,asset,product,amount,price,value\n"
EXPOSURES_HEADER = (
    "group,entities,tier,custody,issuer,overlap,total,share,warn,breach,status,move_to_comply\n"
)


@pytest.fixture
def computed(tenants):
    locations = worked_check(tenants.fund_a)
    book(locations["cold"], {AssetFactory(code="NOPRICE"): "7", AssetFactory(code="BTC"): "50"})
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    return locations


def export(user, name: str, slug: str = "fund-a"):
    return login(user).get(reverse(f"riskmodels:{name}", args=[slug]))


def attachment(name: str) -> str:
    return f'attachment; filename="fund-a-{name}-{timezone.localdate().isoformat()}'


def test_holdings_csv_is_exact(tenants, computed):
    response = export(tenants.alice, "export_holdings_csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == attachment("holdings") + '.csv"'
    assert response.content.decode() == HOLDINGS_HEADER + (
        "binance,exchange,binance,binance,BTC,spot,60,50000,3000000\n"
        "coinbase,exchange,coinbase,coinbase,BTC,spot,40,50000,2000000\n"
        "cold,self_custody,,,BTC,spot,50,50000,2500000\n"
        "cold,self_custody,,,NOPRICE,spot,7,,\n"
        "kraken,exchange,kraken,kraken,BTC,spot,20,50000,1000000\n"
        "okx,exchange,okx,okx,BTC,spot,30,50000,1500000\n"
    )


def test_investor_holdings_csv_is_their_quarter(tenants, computed):
    response = export(tenants.bob, "export_holdings_csv")
    assert response.content.decode() == HOLDINGS_HEADER + (
        "binance,exchange,binance,binance,BTC,spot,15,50000,750000\n"
        "coinbase,exchange,coinbase,coinbase,BTC,spot,10,50000,500000\n"
        "cold,self_custody,,,BTC,spot,12.5,50000,625000\n"
        "cold,self_custody,,,NOPRICE,spot,1.75,,\n"
        "kraken,exchange,kraken,kraken,BTC,spot,5,50000,250000\n"
        "okx,exchange,okx,okx,BTC,spot,7.5,50000,375000\n"
    )


def test_exposures_csv_is_exact(tenants, computed):
    response = export(tenants.alice, "export_exposures_csv")
    assert response["Content-Disposition"] == attachment("exposures") + '.csv"'
    assert response.content.decode() == EXPOSURES_HEADER + (
        "binance,binance,A,3000000,0,0,3000000,0.3,0.2,0.25,breach,1000000\n"
        "coinbase,coinbase,A,2000000,0,0,2000000,0.2,0.2,0.25,ok,\n"
        "okx,okx,A,1500000,0,0,1500000,0.15,0.2,0.25,ok,\n"
        "kraken,kraken,A,1000000,0,0,1000000,0.1,0.2,0.25,ok,\n"
    )


def test_investor_exposures_csv_scales_money_not_shares(tenants, computed):
    response = export(tenants.bob, "export_exposures_csv")
    lines = response.content.decode().splitlines()
    assert lines[1] == "binance,binance,A,750000,0,0,750000,0.3,0.2,0.25,breach,250000"


def test_exposures_csv_before_any_report_is_404(tenants):
    assert export(tenants.alice, "export_exposures_csv").status_code == 404


@pytest.mark.parametrize("name", ["export_holdings_csv", "export_exposures_csv", "export_pdf"])
@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_gets_404(tenants, computed, name, who):
    assert export(getattr(tenants, who), name).status_code == 404


def require_chromium() -> None:
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must test the PDF export with real Chromium: {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} is not installed here")


def test_pdf_is_printed_by_chromium(tenants, computed):
    require_chromium()
    response = export(tenants.alice, "export_pdf")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == attachment("exposure-report") + '.pdf"'
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 20_000  # tables and the vector charts, not a blank page


def test_investor_gets_their_own_pdf(tenants, computed):
    require_chromium()
    response = export(tenants.bob, "export_pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_pdf_without_chromium_is_503_with_a_reason(tenants, computed, settings):
    settings.PDF_CHROMIUM = "/nonexistent/chromium"
    response = export(tenants.alice, "export_pdf")
    assert response.status_code == 503
    assert "needs Chromium at /nonexistent/chromium" in response.content.decode()
