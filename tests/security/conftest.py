"""Data for the security suites: two tenants, each with one of every object a URL takes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import Settings
from pytest_django.plugin import DjangoDbBlocker

from accounts.models import AccessLevel, Role, User
from portfolio.models import Asset, Portfolio, SyncOutcome
from portfolio.services import create_exchange_account
from riskmodels.models import Alert
from sandbox.demo import DEMO_SCENARIO
from sandbox.emulator import Emulator, run_emulator
from tests.factories import (
    AlertFactory,
    PortfolioFactory,
    SyncRunFactory,
    UserFactory,
    book,
    computed_exposure,
    grant,
    held_drop,
    stake,
    started_round,
    worked_check,
)
from tests.portfolio.test_sync import KEYS
from tests.security.matrix import Objects


@dataclass(frozen=True)
class World:
    users: dict[str, User]  # by matrix role; "anonymous" has none
    own: Objects  # fund A: bob's stake, alice's manage grant
    other: Objects  # fund B: charlie manages it, dora may view it


def make_people() -> tuple[dict[str, User], Portfolio, Portfolio]:
    """The tenants of tests/conftest.py, built outside a test so that a module can share them."""
    fund_a = PortfolioFactory.create(slug="fund-a", name="Fund A")
    fund_b = PortfolioFactory.create(slug="fund-b", name="Fund B")
    users = {
        "admin": UserFactory.create(username="ada", role=Role.ADMIN),
        "manager": UserFactory.create(username="alice", role=Role.MANAGER),
        "investor": UserFactory.create(username="bob", role=Role.INVESTOR),
    }
    charlie = UserFactory.create(username="charlie", role=Role.MANAGER)
    dora = UserFactory.create(username="dora", role=Role.INVESTOR)
    grant(users["manager"], fund_a, AccessLevel.MANAGE)
    stake(users["investor"], fund_a, "0.25")
    grant(charlie, fund_b, AccessLevel.MANAGE)
    grant(dora, fund_b, AccessLevel.VIEW)
    for user in (users["admin"], users["manager"], charlie):
        # Made once here, so that each test's login() only marks its session verified.
        TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return users, fund_a, fund_b


def build_objects(portfolio: Portfolio) -> Objects:
    """DESIGN's worked check plus a Binance account with a run, a round, a report, an alert."""
    locations = worked_check(portfolio)
    account = create_exchange_account(
        portfolio=portfolio,
        name="Binance main",
        exchange_id="binance",
        # One place per key: each fund its own (these accounts are never synced).
        credentials={**KEYS["binance"], "apiKey": f"{KEYS['binance']['apiKey']}-{portfolio.slug}"},
    )
    snapshot = book(account.location, {Asset.objects.get(code="BTC"): "2"})
    now = timezone.now()
    sync_run = SyncRunFactory.create(
        location=account.location, outcome=SyncOutcome.SUCCESS, finished_at=now
    )
    exposure = computed_exposure(portfolio)
    alert = Alert.objects.filter(portfolio=portfolio).first() or AlertFactory.create(
        portfolio=portfolio
    )
    return Objects(
        portfolio=portfolio,
        location=locations["cold"],
        account=account,
        snapshot=snapshot,
        sync_run=sync_run,
        sync_round=started_round(portfolio),
        exposure=exposure,
        alert=alert,
        drop=held_drop(account.location),
    )


@pytest.fixture(scope="module")
def matrix_world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """One world for a whole module, inside a transaction rolled back at its end.

    Each test's own transaction nests in it as a savepoint (as Django's setUpTestData does),
    so a POST that changes something is undone before the next test.
    """
    # The per-test fast hasher is not on yet at module set-up; the passwords must use it.
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast:
        atomic = transaction.atomic()
        atomic.__enter__()
        users, fund_a, fund_b = make_people()
        world = World(users=users, own=build_objects(fund_a), other=build_objects(fund_b))
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def running_demo_emulator() -> Iterator[Emulator]:
    with run_emulator(DEMO_SCENARIO) as emulator:
        yield emulator


@pytest.fixture
def demo_emulator(running_demo_emulator: Emulator, settings: Settings) -> Iterator[Emulator]:
    """The demo scenario's ten accounts, fresh for each test, with the app pointing at them."""
    running_demo_emulator.update_scenario(json.loads(DEMO_SCENARIO.read_text()), replace=True)
    running_demo_emulator.clear_faults()
    settings.EXCHANGE_EMULATOR_URL = running_demo_emulator.url
    yield running_demo_emulator
    running_demo_emulator.clear_faults()
