"""The demo's exchange credentials appear on no page, export, log line, stored row or error report.

The demo (sandbox/demo.py) is seeded as `make demo` seeds it, its ten accounts are synced for real
against an emulator serving sandbox/scenarios/demo.json, some syncs are made to fail, connections
are tested through the pages, and then everything a person or a log collector could read is
searched for every full API key, secret and passphrase.

Error messages may name a key by its last four characters ("the API key ending in …-key",
portfolio/exchanges/faults.py FaultContext.key_hint): four characters identify a key to its owner
without giving it away, so only whole values count as a leak.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core import mail
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, TestCase
from django.urls import reverse

from accounts.models import AuditEvent, User
from portfolio.crypto import decrypt_credentials
from portfolio.models import (
    ExchangeAccount,
    HoldingSnapshot,
    LocationKind,
    Portfolio,
    SyncOutcome,
    SyncRun,
)
from portfolio.registry import load_registry
from portfolio.sync import SyncRequest, sync_location
from riskmodels import exports
from riskmodels.models import Alert
from sandbox.demo import DEMO_SCENARIO, demo_account, fund_accounts, seed_demo
from sandbox.emulator import Emulator
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    AlertFactory,
    computed_exposure,
    held_drop,
    started_round,
)
from tests.security.matrix import Objects, all_rows

ACCOUNTS = json.loads(DEMO_SCENARIO.read_text())["accounts"]


def demo_secrets() -> dict[str, str]:
    """Every account's full API key, secret and passphrase, by a label that says which."""
    found = {}
    for account in ACCOUNTS:
        label = account["label"]
        found[f"{label}: API key"] = account["api_key"]
        if account.get("secret"):  # none for a venue read by address alone
            found[f"{label}: secret"] = account["secret"]
        if account.get("password"):
            found[f"{label}: passphrase"] = account["password"]
    return found


SECRETS = demo_secrets()


def spellings(value: str) -> set[str]:
    """The value as text, URL-encoded, JSON-escaped and, for Kraken's base64 secrets, decoded."""
    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    try:
        forms.add(base64.b64decode(value, validate=True).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError):
        pass  # not base64: nothing hides behind it
    return {form for form in forms if len(form) >= 8}


def leaks(haystack: dict[str, str]) -> list[str]:
    return [
        f"{label} in {source}"
        for source, text in haystack.items()
        for label, value in SECRETS.items()
        if any(form in text for form in spellings(value))
    ]


@dataclass
class Demo:
    admin: User
    manager: User
    funds: list[Portfolio]
    emulator: Emulator

    def account(self, label: str) -> ExchangeAccount:
        """The account the scenario labels e.g. "Aurora Fund on okx"."""
        return demo_account(next(a for a in ACCOUNTS if a["label"] == label))


def scenario_account(label: str) -> dict[str, str]:
    return next(account for account in ACCOUNTS if account["label"] == label)


@pytest.fixture
def demo(db, demo_emulator) -> Demo:
    """`make demo`'s data: the registry, then seed_demo, which creates the demo's exchange accounts
    through portfolio.services; the demo users get the test password to log in with."""
    load_registry()
    seed_demo()
    for user in User.objects.filter(username__in=["admin", "manager"]):
        user.set_password(PASSWORD)
        user.save()
    funds = [Portfolio.objects.get(slug="aurora-fund"), Portfolio.objects.get(slug="borealis-fund")]
    return Demo(
        admin=User.objects.get(username="admin"),
        manager=User.objects.get(username="manager"),
        funds=funds,
        emulator=demo_emulator,
    )


# ------------------------------------------------------------------------- what the test does


def sync_every_account() -> list[SyncRun | None]:
    return [
        sync_location(SyncRequest(location_id=account.pk))
        for account in ExchangeAccount.objects.order_by("pk")
    ]


def break_some_exchanges(emulator: Emulator) -> None:
    """A 401, a 500, a malformed body, and an error that quotes the key and secret back."""
    binance, kraken, okx, bybit = (
        scenario_account(f"Aurora Fund on {name}") for name in ("binance", "kraken", "okx", "bybit")
    )
    rejected = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    emulator.add_fault("binance", "*", status=401, body=rejected, api_key=binance["api_key"])
    emulator.add_fault("kraken", "*", status=500, api_key=kraken["api_key"], times=None)
    # The balance request: a garbled answer about the key's permissions is not a failure.
    balance = "/api/v5/account/balance"
    emulator.add_fault("okx", balance, status=200, body="{not json", api_key=okx["api_key"])
    echo = f"API key {bybit['api_key']} with secret {bybit['secret']} is invalid"
    body = {"retCode": 10003, "retMsg": echo}
    emulator.add_fault("bybit", "*", status=401, body=body, api_key=bybit["api_key"])


def connection_tests_through_the_pages(client: Client, demo: Demo) -> Iterator[tuple[str, object]]:
    """Testing the connection with wrong and right credentials, then saving, as a manager."""
    right = scenario_account("Borealis Fund on binance")
    add_url = reverse("sources:add_exchange_account", args=[demo.funds[0].slug])
    new = {"name": "Trial", "exchange": "binance", "wallets": ["spot", "funding"]}
    keys = {"api_key": right["api_key"], "secret": right["secret"], "password": ""}
    wrong = {**keys, "secret": "not-the-secret-at-all"}
    yield "add: test wrong", client.post(add_url, {**new, **wrong, "test": "1"})
    yield "add: test right", client.post(add_url, {**new, **keys, "test": "1"})
    yield "add: save", client.post(add_url, {**new, **keys}, follow=True)
    okx = demo.account("Borealis Fund on okx")
    okx_keys = scenario_account("Borealis Fund on okx")
    edit_url = reverse("sources:edit_exchange_account", args=[okx.pk])
    stored = {"wallets": ["spot"], "api_key": "", "secret": "", "password": ""}
    bad_pass = {**stored, "api_key": okx_keys["api_key"], "secret": okx_keys["secret"]}
    yield "edit: test stored", client.post(edit_url, {**stored, "test": "1"})
    yield (
        "edit: test wrong passphrase",
        client.post(edit_url, {**bad_pass, "password": "nope", "test": "1"}),
    )
    yield (
        "edit: save",
        client.post(edit_url, {**bad_pass, "password": okx_keys["password"]}, follow=True),
    )


def admin_pages(client: Client) -> Iterator[tuple[str, object]]:
    """The admin's lists and every change page that shows accounts or the audit trail (sync
    runs are no longer in the admin: their errors show on the location pages)."""
    pages = {
        "portfolio_exchangeaccount": ExchangeAccount.objects.values_list("pk", flat=True),
        "portfolio_custodylocation": ExchangeAccount.objects.values_list("location", flat=True),
        "accounts_auditevent": AuditEvent.objects.values_list("pk", flat=True),
    }
    for model, pks in pages.items():
        urls = [reverse(f"admin:{model}_changelist")]
        urls += [reverse(f"admin:{model}_change", args=[pk]) for pk in pks]
        for url in urls:
            yield url, client.get(url)


def admin_replaces_credentials(client: Client, demo: Demo) -> tuple[str, object]:
    account = demo.account("Aurora Fund on coinbase")
    keys = scenario_account("Aurora Fund on coinbase")
    url = reverse("admin:portfolio_exchangeaccount_change", args=[account.pk])
    data = {"location": account.location_id, "exchange_id": "coinbase", "wallets": '["spot"]',
            "api_key": keys["api_key"], "secret": keys["secret"], "password": ""}  # fmt: skip
    return url, client.post(url, data, follow=True)


def objects_of(fund: Portfolio) -> Objects:
    """One of everything a matrix URL takes, from the demo's own data."""
    account = ExchangeAccount.objects.filter(location__portfolio=fund).order_by("pk").first()
    location = fund.locations.exclude(kind=LocationKind.EXCHANGE).order_by("pk").first()
    assert account is not None and location is not None, "the demo has both kinds"
    alert = Alert.objects.filter(portfolio=fund).first() or AlertFactory.create(portfolio=fund)
    return Objects(
        portfolio=fund,
        location=location,
        account=account,
        snapshot=HoldingSnapshot.objects.filter(location__portfolio=fund).latest(),
        sync_run=SyncRun.objects.filter(location=account.location).latest(),
        sync_round=started_round(fund),
        exposure=computed_exposure(fund),
        alert=alert,
        drop=held_drop(account.location),
    )


def matrix_pages(client: Client, objects: Objects) -> Iterator[tuple[str, object]]:
    """Every GET of the permission matrix, the PDF aside (it has its own step)."""
    for row in all_rows():
        if row.get is None or row.name == "riskmodels:export_pdf":
            continue
        if row.name.startswith("/"):
            url = row.name
        else:
            url = reverse(row.name, kwargs=row.kwargs(objects) if row.kwargs else None)
        yield url, client.get(url)


def pdf_export(client: Client, fund: Portfolio, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The PDF and the HTML Chromium printed it from: its text is compressed inside the PDF.
    Asked for on its page, printed by the job inline (a worker's part), then fetched."""
    from config.celery import app

    printed = []
    real = exports.PageServer.__init__

    def keep_html(server: exports.PageServer, files: dict, csp: str) -> None:
        printed.append(files["/report.html"][0].decode())
        real(server, files, csp)

    monkeypatch.setattr(exports.PageServer, "__init__", keep_html)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the worker's part, inline
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            asked = client.post(reverse("riskmodels:export_pdf", args=[fund.slug]))
    finally:
        app.conf.task_always_eager = eager
    job = client.get(asked["Location"]).context["export"]
    response = client.get(reverse("riskmodels:download_pdf_export", args=[job.pk]))
    assert response.status_code == 200 and printed
    return {"PDF bytes": response.content.decode("latin-1"), "PDF's HTML": printed[0]}


# ------------------------------------------------------------------------- what it reads back


def text_of(response: HttpResponse) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    return f"{response.status_code}\n{headers}\n\n{response.content.decode(errors='replace')}"


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def stored_rows() -> dict[str, str]:
    """Run errors, broken-credential notes, the audit trail, and the whole database besides
    the encrypted column (checked on its own below)."""
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump, exclude=["contenttypes", "auth.permission"])
    everything = json.loads(dump.getvalue())
    for row in everything:
        if row["model"] == "portfolio.exchangeaccount":
            row["fields"].pop("credentials_encrypted")
    runs = SyncRun.objects.values_list("error_class", "error_message")
    return {
        "sync runs' errors": "\n".join(f"{kind}: {message}" for kind, message in runs),
        "accounts' credential errors": "\n".join(
            ExchangeAccount.objects.values_list("credentials_error", flat=True)
        ),
        "audit trail": "\n".join(
            json.dumps(event, default=str) for event in AuditEvent.objects.values()
        ),
        "database dump": json.dumps(everything),
    }


def mails() -> dict[str, str]:
    return {
        f"mail {index}: {message.subject}": "\n".join(
            [
                str(message.subject),
                str(message.body),
                *(str(body) for body, _ in getattr(message, "alternatives", ())),
            ]
        )
        for index, message in enumerate(mail.outbox)
    }


# ------------------------------------------------------------------------- the tests


def test_no_page_export_log_or_stored_error_shows_a_credential(demo, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)  # as LOG_LEVEL=DEBUG runs it; loggers the app pins stay
    first = sync_every_account()
    assert all(run.outcome == SyncOutcome.SUCCESS for run in first), "the demo must sync"
    break_some_exchanges(demo.emulator)
    failed = [run for run in sync_every_account() if run.outcome != SyncOutcome.SUCCESS]
    assert len(failed) == 4 and all(run.error_message for run in failed)
    seen: dict[str, str] = {}
    manager, admin = login(demo.manager), login(demo.admin)
    for step, response in connection_tests_through_the_pages(manager, demo):
        seen[f"manager's {step}"] = text_of(response)
    assert "Connection failed" in seen["manager's add: test wrong"]
    assert "Connection works" in seen["manager's add: test right"]
    for url, response in admin_pages(admin):
        seen[f"admin {url}"] = text_of(response)
    url, response = admin_replaces_credentials(admin, demo)
    seen[f"admin POST {url}"] = text_of(response)
    for fund in demo.funds:
        objects = objects_of(fund)
        for role, client in (("admin", admin), ("manager", manager)):
            for url, response in matrix_pages(client, objects):
                seen[f"{role} {url}"] = text_of(response)
    seen |= pdf_export(manager, demo.funds[0], monkeypatch)
    seen |= stored_rows() | mails() | {"logs": log_text(caplog)}
    assert not leaks(seen), "\n".join(leaks(seen))


def test_encrypted_column_never_holds_a_plain_credential(demo):
    for account in fund_accounts():  # the spare one is stored nowhere
        stored = demo.account(account["label"]).credentials_encrypted
        assert stored.startswith("gAAAAA")  # a Fernet token
        assert not leaks({account["label"]: stored})
        credentials = decrypt_credentials(stored)
        if "secret" in account:
            assert credentials["secret"] == account["secret"]
        else:  # read by wallet address alone
            assert credentials == {"walletAddress": account["api_key"]}


def error_report_posts(demo: Demo) -> Iterator[tuple[User, str, dict[str, object]]]:
    """Three forms that carry credentials, each posted when saving them fails."""
    okx = demo.account("Aurora Fund on okx")
    keys = scenario_account("Aurora Fund on okx")
    typed = {"api_key": keys["api_key"], "secret": keys["secret"], "password": keys["password"]}
    add_url = reverse("sources:add_exchange_account", args=[demo.funds[0].slug])
    # Another OKX account's key (the same one twice is refused before anything is saved).
    another = typed | {"api_key": keys["api_key"] + "-second"}
    yield (
        demo.manager,
        add_url,
        {"name": "Second OKX", "exchange": "okx", "wallets": ["spot"], **another},
    )
    edit_url = reverse("sources:edit_exchange_account", args=[okx.pk])
    yield demo.manager, edit_url, {"wallets": ["spot"], **typed}
    admin_url = reverse("admin:portfolio_exchangeaccount_change", args=[okx.pk])
    admin_form = {"location": okx.location_id, "exchange_id": "okx", "wallets": '["spot"]', **typed}
    yield demo.admin, admin_url, admin_form


def test_server_error_reports_show_no_posted_credential(demo, settings, caplog):
    settings.ADMINS = [("Ops", "ops@counterweight.test")]
    settings.DEBUG = False
    # An operator's typo in CREDENTIALS_KEYS: saving credentials fails, the admins get mail.
    settings.CREDENTIALS_KEYS = ["not-a-fernet-key"]
    caplog.set_level(logging.DEBUG)
    for user, url, data in error_report_posts(demo):
        client = login(user)
        client.raise_request_exception = False
        assert client.post(url, data).status_code == 500, url
    assert len(mail.outbox) == 3, "each failure mails the admins"
    # The report still lists the POST, with the typed credentials masked.
    assert all("api_key = '********************'" in body for body in mails().values())
    found = leaks(mails() | {"logs": log_text(caplog)})
    assert not found, "\n".join(found)
