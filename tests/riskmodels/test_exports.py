"""Exports: holdings and exposures CSV (exact content), and the PDF printed by real Chromium."""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from riskmodels.exports import CHROMIUM
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import AssetFactory, book, worked_check

pytestmark = pytest.mark.django_db

HOLDINGS_HEADER = "location,kind,custodian,group,asset,product,amount,price,value,not_current\n"
EXPOSURES_HEADER = (
    "group,name,entities,tier,custody,issuer,overlap,total,share,warn,breach,status,move_to_comply,"
    "convert_to_comply,blocked,not_current\n"
)


@pytest.fixture
def computed(tenants):
    locations = worked_check(tenants.fund_a)
    book(
        locations["cold"],
        {AssetFactory.create(code="NOPRICE"): "7", AssetFactory.create(code="BTC"): "50"},
    )
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
        "binance,exchange,binance,binance,BTC,spot,60,50000,3000000,\n"
        "coinbase,exchange,coinbase,coinbase,BTC,spot,40,50000,2000000,\n"
        "cold,self_custody,,,BTC,spot,50,50000,2500000,\n"
        "cold,self_custody,,,NOPRICE,spot,7,,,\n"
        "kraken,exchange,kraken,kraken,BTC,spot,20,50000,1000000,\n"
        "okx,exchange,okx,okx,BTC,spot,30,50000,1500000,\n"
    )


def test_investor_holdings_csv_is_their_quarter(tenants, computed):
    response = export(tenants.bob, "export_holdings_csv")
    assert response.content.decode() == HOLDINGS_HEADER + (
        "binance,exchange,binance,binance,BTC,spot,15,50000,750000,\n"
        "coinbase,exchange,coinbase,coinbase,BTC,spot,10,50000,500000,\n"
        "cold,self_custody,,,BTC,spot,12.5,50000,625000,\n"
        "cold,self_custody,,,NOPRICE,spot,1.75,,,\n"
        "kraken,exchange,kraken,kraken,BTC,spot,5,50000,250000,\n"
        "okx,exchange,okx,okx,BTC,spot,7.5,50000,375000,\n"
    )


def test_exposures_csv_is_exact(tenants, computed):
    response = export(tenants.alice, "export_exposures_csv")
    assert response["Content-Disposition"] == attachment("exposures") + '.csv"'
    assert response.content.decode() == EXPOSURES_HEADER + (
        "binance,Binance,binance,A,3000000,0,0,3000000,0.3,0.2,0.25,breach,1000000,,,\n"
        "coinbase,Coinbase,coinbase,A,2000000,0,0,2000000,0.2,0.2,0.25,ok,,,,\n"
        "okx,Okx,okx,A,1500000,0,0,1500000,0.15,0.2,0.25,ok,,,,\n"
        "kraken,Kraken,kraken,A,1000000,0,0,1000000,0.1,0.2,0.25,ok,,,,\n"
    )


def test_investor_exposures_csv_scales_money_not_shares(tenants, computed):
    response = export(tenants.bob, "export_exposures_csv")
    lines = response.content.decode().splitlines()
    assert lines[1] == "binance,Binance,binance,A,750000,0,0,750000,0.3,0.2,0.25,breach,250000,,,"


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


PDF_OBJECT = re.compile(rb"(\d+) 0 obj\b")
PDF_LENGTH = re.compile(rb"/Length (\d+)\b(?! \d+ R)")
PDF_FONTS = re.compile(rb"/Font\s*<<(.*?)>>", re.S)
PDF_FONT_REF = re.compile(rb"/([^\s/<>]+) (\d+) 0 R")
PDF_TEXT_OPS = re.compile(
    rb"/([^\s/<>\[\]]+) [\d.]+ Tf|<([0-9A-Fa-f]*)>\s*Tj|\[([^\]]*)\]\s*TJ|\bBT\b"
)
CMAP_CHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
CMAP_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")


def pdf_objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Each object of an uncompressed-xref PDF (Chromium's Skia writes one): its dictionary
    and its stream, inflated when Flate-encoded."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    position = 0
    while match := PDF_OBJECT.search(data, position):
        start = match.end()
        end, stream = data.index(b"endobj", start), data.find(b"stream", start)
        if stream == -1 or stream > end:
            objects[int(match[1])], position = (data[start:end], None), end
            continue
        head = data[start:stream]
        body = stream + len(b"stream") + (2 if data[stream + 6 : stream + 8] == b"\r\n" else 1)
        found = PDF_LENGTH.search(head)
        assert found is not None, head
        length = int(found[1])
        raw = data[body : body + length]
        objects[int(match[1])] = (head, zlib.decompress(raw) if b"/FlateDecode" in head else raw)
        position = body + length
    return objects


def to_unicode(cmap: bytes) -> dict[int, str]:
    """A font's ToUnicode CMap: glyph code -> text."""
    glyphs = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in CMAP_CHAR.findall(block):
            glyphs[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, first in CMAP_RANGE.findall(block):
            for offset in range(int(high, 16) - int(low, 16) + 1):
                glyphs[int(low, 16) + offset] = chr(int(first, 16) + offset)
    return glyphs


def pdf_text(data: bytes) -> str:
    """The text of a Chromium PDF in drawing order, text objects (BT ... ET) joined by one
    space and runs of white space made one, so that a cell wrapped onto two lines reads the
    same as one line.

    Chromium subsets its fonts and draws glyph ids (Identity-H, two bytes each), so the text
    is read back through each font's ToUnicode CMap; pages and form XObjects (the charts)
    both count.
    """
    objects = pdf_objects(data)
    cmaps = {}
    for number, (head, _) in objects.items():
        if ref := re.search(rb"/ToUnicode (\d+) 0 R", head):
            cmaps[number] = to_unicode(objects[int(ref[1])][1] or b"")
    fonts: dict[bytes, int] = {}
    for head, _ in objects.values():
        for resources in PDF_FONTS.findall(head):
            for name, number in PDF_FONT_REF.findall(resources):
                assert fonts.setdefault(name, int(number)) == int(number), name
    contents = {
        int(n) for head, _ in objects.values() for n in re.findall(rb"/Contents (\d+) 0 R", head)
    }
    lines: list[str] = []
    glyphs: dict[int, str] = {}
    for number, (head, body) in objects.items():
        if body is None or not (number in contents or b"/Subtype /Form" in head):
            continue
        for match in PDF_TEXT_OPS.finditer(body):
            font, single, array = match.groups()
            if font is not None:
                glyphs = cmaps[fonts[font]]
            elif single is None and array is None:
                lines.append("")
            else:
                runs = [single] if single is not None else re.findall(rb"<([0-9A-Fa-f]*)>", array)
                codes = bytes.fromhex(b"".join(runs).decode())
                lines[-1] += "".join(
                    glyphs[int.from_bytes(codes[i : i + 2])] for i in range(0, len(codes), 2)
                )
    return " ".join(" ".join(lines).split())


@pytest.fixture
def printed(eager_celery, django_capture_on_commit_callbacks):
    """`printed(user)`: the user asks for the PDF on its page, a worker (inline here) prints
    it after the commit, and the user fetches it from its job page."""

    def pdf_of(user):
        client = login(user)
        with django_capture_on_commit_callbacks(execute=True):
            asked = client.post(reverse("riskmodels:export_pdf", args=["fund-a"]))
        assert asked.status_code == 302, asked.content[:300]
        job = client.get(asked.url)
        assert job.status_code == 200
        export = job.context["export"]
        if export.state != "done":
            return job
        return client.get(reverse("riskmodels:download_pdf_export", args=[export.pk]))

    return pdf_of


def test_pdf_is_printed_by_chromium(tenants, computed, printed):
    require_chromium()
    response = printed(tenants.alice)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == attachment("exposure-report") + '.pdf"'
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 20_000  # tables and the vector charts, not a blank page
    text = pdf_text(response.content)
    assert "NAV 10,000,000 USD" in text
    assert "Custody split Custodian group Value (USD) Share Binance 3,000,000 30.00% " in text
    assert "Your share" not in text


def test_investor_pdf_shows_their_share_not_the_funds_figures(tenants, computed, printed):
    """Bob holds 25% of fund A: every amount is a quarter of the fund's, shares unchanged."""
    require_chromium()
    response = printed(tenants.bob)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Your share: 25.00% of Fund A. Every amount on this page is your share." in text
    assert "YOUR NAV 2,500,000 USD" in text
    assert (
        "Unpriced holdings: counted as zero until priced Asset Amount Product Location Held by "
        "Why NOPRICE 1.75000000 Spot Self-custody Self-custody no price has been fetched"
    ) in text
    assert (
        "Top counterparties Group Tier Exposure (USD) Share of NAV Status "
        "Binance A 750,000 30.00% breach Coinbase A 500,000 20.00% ok "
        "Okx A 375,000 15.00% ok Kraken A 250,000 10.00% ok "
    ) in text
    # The custody table may break across pages (its header repeats): row by row.
    assert "Custody split Custodian group Value (USD) Share Binance 750,000 30.00% " in text
    for custody_row in ("Self-custody 625,000 25.00%", "Coinbase 500,000 20.00%"):
        assert custody_row in text
    assert "Okx 375,000 15.00% Kraken 250,000 10.00% " in text
    assert "binance default (severe) 675,000 27.00% 750,000 " in text
    for fund_figure in ("10,000,000", "3,000,000", "2,000,000", "1,500,000", "1,000,000"):
        assert fund_figure not in text
    assert " 7 NOPRICE" not in text


def test_pdf_without_chromium_fails_with_a_reason(tenants, computed, settings, printed):
    settings.PDF_CHROMIUM = "/nonexistent/chromium"
    page = printed(tenants.alice).content.decode()
    assert "It could not be made" in page
    assert "needs Chromium at /nonexistent/chromium" in page


def test_holdings_csv_marks_a_location_that_is_not_current(tenants, computed):
    from portfolio.models import ExchangeAccount, SyncOutcome
    from tests.factories import SyncRunFactory

    binance = computed["binance"]
    ExchangeAccount.objects.create(location=binance, exchange_id="binance")
    SyncRunFactory.create(
        location=binance,
        outcome=SyncOutcome.FAILED,
        finished_at=timezone.now(),
        error_message="Binance is unavailable or under maintenance.",
    )
    taken = binance.snapshots.get().taken_at.isoformat()
    manager = export(tenants.alice, "export_holdings_csv").content.decode().splitlines()
    investor = export(tenants.bob, "export_holdings_csv").content.decode().splitlines()
    assert manager[1] == (
        "binance,exchange,binance,binance,BTC,spot,60,50000,3000000,"
        f"Not current since {taken}: The last sync failed: "
        "Binance is unavailable or under maintenance."
    )
    assert investor[1] == (
        f"binance,exchange,binance,binance,BTC,spot,15,50000,750000,Not current since {taken}"
    )
    assert manager[2].endswith(",2000000,")  # coinbase is current


def test_exposures_csv_marks_a_group_whose_location_is_not_current(tenants, computed):
    from portfolio.models import ExchangeAccount, SyncOutcome
    from tests.factories import SyncRunFactory

    binance = computed["binance"]
    ExchangeAccount.objects.create(location=binance, exchange_id="binance")
    SyncRunFactory.create(
        location=binance, outcome=SyncOutcome.FAILED, finished_at=timezone.now(),
        error_message="Binance is unavailable or under maintenance.",
    )  # fmt: skip
    taken = binance.snapshots.get().taken_at.isoformat()
    manager = export(tenants.alice, "export_exposures_csv").content.decode().splitlines()
    investor = export(tenants.bob, "export_exposures_csv").content.decode().splitlines()
    assert manager[1].endswith(
        f",breach,1000000,,,Not current: binance since {taken} "
        "(The last sync failed: Binance is unavailable or under maintenance.)"
    )
    assert investor[1].endswith(f",Not current: binance since {taken}")
    assert manager[2].endswith(",ok,,,,")  # coinbase is current
