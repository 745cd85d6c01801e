"""Exports of the exposure report: holdings and exposures as CSV, the whole report as PDF.

CSV money is exact decimal text (no float, no exponent). The PDF is the report page itself,
printed by the system's headless Chromium from a temporary directory, so its charts are drawn by
the same plotly.js and charts.js as on screen, served to it by a throwaway local server
(PageServer) so that it needs no file:// access and reaches no other host.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class PageServer:
    """The printed page and its static files, and nothing else, over HTTP on 127.0.0.1 for
    the time of one print, each answer with a strict content security policy: Chromium is
    given no file:// address and reaches no other host."""

    def __init__(self, files: dict[str, tuple[bytes, str]], csp: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, content_type = files.get(self.path.split("?")[0], (b"", ""))
                self.send_response(200 if content_type else 404)
                self.send_header("Content-Type", content_type or "text/plain")
                self.send_header("Content-Security-Policy", csp)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's static files by the path the page asks for them at."""
    found_files = {}
    for key, static_path in PDF_STATIC.items():
        found = finders.find(static_path)
        if not found:
            raise PdfUnavailable(f"The static file {static_path} is missing on the server.")
        kind = "text/css" if static_path.endswith(".css") else "text/javascript"
        found_files[f"/static/{key}"] = (Path(found).read_bytes(), kind)
    return found_files


def report_pdf(context: dict) -> bytes:
    """The report page printed to PDF by headless Chromium (see :func:`print_to_pdf`)."""
    chromium = getattr(settings, "PDF_CHROMIUM", CHROMIUM)
    if not Path(chromium).is_file():
        raise PdfUnavailable(
            f"PDF export needs Chromium at {chromium}, which is not installed on this server. "
            "The CSV exports work without it."
        )
    static = {key: f"/static/{key}" for key in PDF_STATIC}
    html = render_to_string("riskmodels/report_pdf.html", {**context, "files": static})
    files = {"/report.html": (html.encode(), "text/html; charset=utf-8"), **_static_files()}
    with PageServer(files, pdf_csp()) as server:
        return print_to_pdf(f"{server.origin}/report.html", chromium=chromium)


def pdf_csp() -> str:
    """Scripts and styles from the page's own server only (plotly's inline styles by hash),
    and nothing else: no connection, no frame, no form, no other image than inline ones."""
    from riskmodels.charts import PLOTLY_STYLE_HASHES

    styles = " ".join(["'self'", *PLOTLY_STYLE_HASHES])
    return (
        f"default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
        "font-src 'self'; connect-src 'none'; frame-src 'none'; form-action 'none'; "
        "base-uri 'none'"
    )


def print_to_pdf(url: str, *, chromium: str, timeout: int = PDF_TIMEOUT_SECONDS) -> bytes:
    """Print one page to PDF with headless Chromium in a throwaway directory.

    1. A fresh profile in a temporary directory, which is also Chromium's home and all it may
       write; the environment holds nothing else (no secret of this process reaches it).
    2. No name resolves (`--host-resolver-rules`): only 127.0.0.1, the page's own server, is
       reached; no sync, updates or background requests; virtual time lets the charts draw.
    3. Chromium's sandbox, as an unprivileged user when this process runs as root, unless
       PDF_CHROMIUM_SANDBOX is off (README, "Exports").
    4. Its whole process group is killed if it takes longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="counterweight-pdf-") as tmp:
        out = Path(tmp) / "report.pdf"
        sandboxed = getattr(settings, "PDF_CHROMIUM_SANDBOX", True)
        command = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--virtual-time-budget=10000",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            *([] if sandboxed else ["--no-sandbox"]),
            url,
        ]
        _run(command, timeout=timeout, home=tmp, unprivileged=sandboxed and os.geteuid() == 0)
        data = out.read_bytes() if out.is_file() else b""
    if not data.startswith(b"%PDF"):
        raise PdfUnavailable("Chromium ran but wrote no PDF; try again later.")
    return data


# Who Chromium runs as when this process is root: its sandbox refuses to run as root.
NOBODY = 65534


def _run(command: list[str], *, timeout: int, home: str, unprivileged: bool) -> None:
    # Its own session, so that a timeout kills the renderer and GPU children with it.
    env = {"HOME": home, "TMPDIR": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if unprivileged:
        os.chown(home, NOBODY, NOBODY)
    with subprocess.Popen(  # noqa: S603 - a fixed program and arguments, no shell
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        user=NOBODY if unprivileged else None,
        group=NOBODY if unprivileged else None,
        extra_groups=[] if unprivileged else None,
    ) as process:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise PdfUnavailable(
                f"Chromium took longer than {timeout} s to print the report; try again later."
            ) from None
