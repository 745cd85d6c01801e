"""Users per role over two tenants, as in healthchecks' hc/test.py.

- ada: admin
- alice: manager of fund A (manage grant); bob: investor with a 25% stake in fund A
- charlie: manager of fund B, the other tenant; dora: investor granted fund B (view)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessLevel, Role, User
from portfolio.models import Portfolio
from sandbox.emulator import Emulator, run_emulator
from tests.factories import (
    PASSWORD,
    PortfolioFactory,
    UserFactory,
    grant,
    stake,
)


@dataclass
class Tenants:
    ada: User
    alice: User
    bob: User
    charlie: User
    dora: User
    fund_a: Portfolio
    fund_b: Portfolio


@pytest.fixture
def tenants(db: None) -> Tenants:
    fund_a = PortfolioFactory.create(slug="fund-a", name="Fund A")
    fund_b = PortfolioFactory.create(slug="fund-b", name="Fund B")
    people = Tenants(
        ada=UserFactory.create(username="ada", role=Role.ADMIN),
        alice=UserFactory.create(username="alice", role=Role.MANAGER),
        bob=UserFactory.create(username="bob", role=Role.INVESTOR),
        charlie=UserFactory.create(username="charlie", role=Role.MANAGER),
        dora=UserFactory.create(username="dora", role=Role.INVESTOR),
        fund_a=fund_a,
        fund_b=fund_b,
    )
    grant(people.alice, fund_a, AccessLevel.MANAGE)
    stake(people.bob, fund_a, "0.25")
    grant(people.charlie, fund_b, AccessLevel.MANAGE)
    grant(people.dora, fund_b, AccessLevel.VIEW)
    return people


def login(user: User) -> Client:
    """A client past the whole login: password (through django-axes) and, where the role
    requires it, TOTP, marked in the session exactly as django_otp.login marks it."""
    client = Client()
    # django-axes refuses to authenticate without the request it throttles on.
    request = RequestFactory().post(reverse("accounts:login"))
    assert client.login(request=request, username=user.username, password=PASSWORD)
    if user.role in (Role.ADMIN, Role.MANAGER):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture(scope="session", autouse=True)
def collected_static() -> None:
    """Pages name static files by their hashed names (config.storage), which collectstatic
    records: collect them once, unless nothing changed since the last session did."""
    from django.core.management import call_command

    from config.storage import collected_is_current

    if not collected_is_current():
        call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    # PBKDF2 at production strength costs ~0.3 s per hash; tests hash hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TEST_SCENARIO = Path(__file__).resolve().parents[1] / "sandbox" / "scenarios" / "test.json"


@pytest.fixture(scope="session")
def running_emulator() -> Iterator[Emulator]:
    with run_emulator(TEST_SCENARIO) as emulator:
        yield emulator


@pytest.fixture
def emulator(running_emulator: Emulator, settings) -> Iterator[Emulator]:
    """The test scenario's exchanges, with the app's settings pointing at them."""
    running_emulator.update_scenario(_scenario_text(), replace=True)
    running_emulator.clear_faults()
    running_emulator.reset_stats()
    settings.EXCHANGE_EMULATOR_URL = running_emulator.url
    yield running_emulator
    running_emulator.clear_faults()


def _scenario_text() -> dict:
    return json.loads(TEST_SCENARIO.read_text())


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run inline, for tests of a flow rather than of the worker."""
    from config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache: cached pages are keyed by ids a test reuses,
    and so are the asset ids and quotes a sync keeps in its process."""
    from django.core.cache import cache

    from portfolio.sync import forget_process_caches

    cache.clear()
    forget_process_caches()
    yield
