"""Exports of the exposure report: holdings and exposures as CSV, the whole report as PDF.

CSV money is exact decimal text (no float, no exponent). The PDF is the report page itself,
printed by the system's headless Chromium from a temporary directory, so its charts are drawn by
the same plotly.js and charts.js as on screen.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from portfolio.models import Portfolio
from riskmodels.csv_cells import SafeWriter
from riskmodels.documents import ExposureReport
from riskmodels.reports import decimal_text, render_csv
from riskmodels.selectors import HoldingLine

HOLDINGS_COLUMNS = (
    "location",
    "kind",
    "custodian",
    "group",
    "asset",
    "product",
    "amount",
    "price",
    "value",
    "not_current",
)
# Debian's package; settings.PDF_CHROMIUM may point elsewhere.
CHROMIUM = "/usr/bin/chromium"
PDF_TIMEOUT_SECONDS = 60
# Static files the printed page loads, by their static path.
PDF_STATIC = {
    "app_css": "counterweight/app.css",
    "report_css": "riskmodels/report.css",
    "plotly_js": "plotly/plotly.min.js",
    "charts_js": "riskmodels/charts.js",
}


class PdfUnavailable(Exception):
    """The PDF cannot be made now (no Chromium, or it failed or took too long): answer 503."""


def filename(portfolio: Portfolio, name: str, day: date) -> str:
    """E.g. ``fund-a-exposures-2024-06-01.csv``: slug and date, safe in a header."""
    return f"{portfolio.slug}-{name}-{day.isoformat()}"


def holdings_csv(lines: Iterable[HoldingLine], not_current: dict[str, str] | None = None) -> str:
    """One row per current holding; an unpriced holding has empty price and value. A location
    whose figures are not current (its last sync failed, a drop awaits confirmation...) says so
    on each of its rows: `not_current` maps its name to the words."""
    marks = not_current or {}
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(HOLDINGS_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.location,
                line.kind,
                line.custodian or "",
                line.group or "",
                line.asset,
                line.product,
                decimal_text(line.amount),
                decimal_text(line.price) or "",
                decimal_text(line.value) or "",
                marks.get(line.location, ""),
            ]
        )
    return out.getvalue()


def exposures_csv(document: ExposureReport, not_current: dict[str, str] | None = None) -> str:
    """The report's exposures table, as ``manage.py exposure_report --format csv`` prints it."""
    return render_csv(document, not_current)


def _static_uris() -> dict[str, str]:
    """Absolute file:// addresses of the page's static files, for Chromium to load from disk."""
    uris = {}
    for key, static_path in PDF_STATIC.items():
        found = finders.find(static_path)
        if not found:
            raise PdfUnavailable(f"The static file {static_path} is missing on the server.")
        uris[key] = Path(found).resolve().as_uri()
    return uris


def report_pdf(context: dict) -> bytes:
    """The report page printed to PDF by headless Chromium (see :func:`print_to_pdf`)."""
    chromium = getattr(settings, "PDF_CHROMIUM", CHROMIUM)
    if not Path(chromium).is_file():
        raise PdfUnavailable(
            f"PDF export needs Chromium at {chromium}, which is not installed on this server. "
            "The CSV exports work without it."
        )
    html = render_to_string("riskmodels/report_pdf.html", {**context, "files": _static_uris()})
    return print_to_pdf(html, chromium=chromium)


def print_to_pdf(html: str, *, chromium: str, timeout: int = PDF_TIMEOUT_SECONDS) -> bytes:
    """Print one HTML page to PDF with headless Chromium in a throwaway directory.

    1. Write the page to a temporary directory, beside a fresh browser profile.
    2. Run Chromium without network, sync or updates; virtual time lets the charts draw first.
    3. Kill its whole process group if it takes longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="counterweight-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--virtual-time-budget=10000",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        _run(command, timeout=timeout, home=tmp)
        data = out.read_bytes() if out.is_file() else b""
    if not data.startswith(b"%PDF"):
        raise PdfUnavailable("Chromium ran but wrote no PDF; try again later.")
    return data


def _run(command: list[str], *, timeout: int, home: str) -> None:
    # Its own session, so that a timeout kills the renderer and GPU children with it.
    env = {**os.environ, "HOME": home}
    with subprocess.Popen(  # noqa: S603 - a fixed program and arguments, no shell
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise PdfUnavailable(
                f"Chromium took longer than {timeout} s to print the report; try again later."
            ) from None
