"""PDF exports off the request path (riskmodels.pdf_jobs) and a Chromium that reaches nothing
but the page's own server (riskmodels.exports)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.urls import reverse

from riskmodels.exports import CHROMIUM, PageServer, pdf_csp, print_to_pdf
from riskmodels.models import ExportState, PdfExport
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import worked_check


@pytest.fixture
def report(tenants):
    worked_check(tenants.fund_a)
    compute_exposure(portfolio_id=tenants.fund_a.pk)


def ask(client):
    return client.post(reverse("riskmodels:export_pdf", args=["fund-a"]), follow=True)


def test_asking_queues_a_job_and_the_page_follows_it(tenants, report):
    client = login(tenants.alice)
    page = ask(client)
    export = PdfExport.objects.get()
    assert (export.state, export.requested_by) == (ExportState.QUEUED, tenants.alice)
    assert page.redirect_chain[-1][0] == reverse("riskmodels:pdf_export", args=[export.pk])
    html = page.content.decode()
    assert "Waiting for a worker" in html and '<meta http-equiv="refresh" content="2">' in html
    download = reverse("riskmodels:download_pdf_export", args=[export.pk])
    assert client.get(download).status_code == 404  # not ready


def test_one_waiting_pdf_per_user(tenants, report):
    client = login(tenants.alice)
    ask(client)
    page = ask(client).content.decode()
    assert "A PDF you asked for is still being prepared" in page
    assert PdfExport.objects.count() == 1


def test_at_most_so_many_pdfs_wait_in_all(tenants, report, settings):
    settings.PDF_MAX_CONCURRENT = 1
    ask(login(tenants.alice))
    page = ask(login(tenants.bob)).content.decode()
    assert "The server is preparing other PDFs" in page
    assert PdfExport.objects.count() == 1


def test_a_job_whose_worker_died_fails_and_frees_its_user(tenants, report, settings):
    client = login(tenants.alice)
    ask(client)
    PdfExport.objects.update(requested_at="2020-01-01T00:00Z", state=ExportState.RUNNING)
    ask(client)
    states = sorted(PdfExport.objects.values_list("state", flat=True))
    assert states == [ExportState.QUEUED]  # the stale one failed, then aged out of the list


def test_a_pdf_is_its_requesters_alone(tenants, report):
    ask(login(tenants.alice))
    export = PdfExport.objects.get()
    for other in (tenants.ada, tenants.bob, tenants.charlie):
        for name in ("pdf_export", "download_pdf_export"):
            url = reverse(f"riskmodels:{name}", args=[export.pk])
            assert login(other).get(url).status_code == 404, (other, name)


# --- Chromium's confinement -------------------------------------------------------------------


class Listener:
    """A server on another loopback address that records whatever reaches it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.2:{self.server.server_port}"


def test_the_printed_page_reaches_no_other_address_nor_file(tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is not installed here")
    listener = Listener()
    html = (
        f'<html><head><link rel="stylesheet" href="{listener.origin}/by-address.css">'
        f'<script src="http://localhost:{listener.server.server_port}/by-name.js"></script>'
        "</head><body><p>report</p>"
        f'<img src="{listener.origin}/image.png"><iframe src="file:///etc/hostname"></iframe>'
        f"<script>fetch('{listener.origin}/fetch')</script></body></html>"
    )
    files = {"/report.html": (html.encode(), "text/html; charset=utf-8")}
    with PageServer(files, pdf_csp()) as server:
        pdf = print_to_pdf(f"{server.origin}/report.html", chromium=CHROMIUM)
    listener.server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert listener.hits == []


FAKE_CHROMIUM = """#!/bin/sh
# Records what it was given, as Chromium would have been, and prints a one-line "PDF".
{ id -u; env; printf '%s\\n' "$@"; } > "$RECORD" 2>&1
for arg in "$@"; do case "$arg" in --print-to-pdf=*) printf '%%PDF-1.4' > "${arg#*=}";; esac; done
"""


@pytest.fixture
def open_dir():
    """A directory an unprivileged user can read (pytest's own are its owner's only)."""
    path = Path(tempfile.mkdtemp(prefix="fake-chromium-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_chromium_gets_a_minimal_environment_and_its_sandbox(open_dir, monkeypatch):
    """A stand-in executable records the process Chromium would be: no secret of the worker
    in its environment, no --no-sandbox, the page over http://127.0.0.1, never file://."""
    tmp_path = open_dir
    record = tmp_path / "record.txt"
    record.touch()
    record.chmod(0o666)
    chromium = tmp_path / "chromium"
    chromium.write_text(FAKE_CHROMIUM.replace("$RECORD", str(record)))
    chromium.chmod(0o755)
    monkeypatch.setenv("SECRET_KEY", "worker-secret")
    with PageServer({"/report.html": (b"<p>x</p>", "text/html")}, pdf_csp()) as server:
        assert print_to_pdf(f"{server.origin}/report.html", chromium=str(chromium)) == b"%PDF-1.4"
    uid, *rest = record.read_text().splitlines()
    environment = {
        line.split("=", 1)[0] for line in rest if "=" in line and not line.startswith("-")
    }
    arguments = [line for line in rest if line.startswith(("-", "http", "file"))]
    assert environment <= {"HOME", "TMPDIR", "PATH", "LANG", "PWD", "SHLVL", "_"}
    assert "worker-secret" not in record.read_text()
    assert "--no-sandbox" not in arguments
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" in arguments
    assert arguments[-1] == f"{server.origin}/report.html"
    assert not [a for a in arguments if a.startswith("file:")]
    assert int(uid) == (65534 if os.geteuid() == 0 else os.geteuid())


def test_the_csp_of_the_printed_page_allows_only_its_own_server():
    policy = dict(part.strip().split(" ", 1) for part in pdf_csp().split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'none'"
    assert json.dumps(policy).count("http") == 0
