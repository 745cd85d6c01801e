"""The system Chromium driven by Playwright against pytest-django's live server.

Every page visit fails on a JavaScript error or a CSP violation (Chromium reports both on the
console). Screenshots of the main pages go to var/screenshots/, which git ignores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import ConsoleMessage, Page, Response

from accounts.models import Role, User
from portfolio.services import create_exchange_account
from riskmodels.services import compute_exposure
from tests.factories import PASSWORD, worked_check
from tests.processes import device_token

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker) -> Iterator[object]:
    """Chromium for one test module: Playwright's loop must not outlive the browser tests.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    calls while one runs; the tests' ORM calls between page actions are plain synchronous
    calls, so they are allowed for the module's lifetime only.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


def _through(application: object) -> object:
    return application


@pytest.fixture(scope="session")
def live_server() -> Iterator[object]:
    """pytest-django's live server, but with static files served by the app, so through
    WhiteNoise as in production (hashed names, gzip, a far-future cache header)."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost", start=False)
    # The thread wraps its WSGI handler in this; any callable of one application will do.
    server.thread.static_handler = _through  # type: ignore[assignment]
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site(browser, live_server, tenants, settings):
    """Fund A with the worked-check holdings, an exchange account and a computed exposure."""
    # The live server speaks plain HTTP: secure-only cookies would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # The live server's tests flush the database after each one, the migration-seeded global
    # policy included: seed it again, so that every browser test starts from the same policy.
    from django.apps import apps

    import_module("riskmodels.migrations.0003_default_policy").seed(apps, None)
    tenants.locations = worked_check(tenants.fund_a)
    tenants.account = create_exchange_account(
        portfolio=tenants.fund_a,
        name="Binance API",
        exchange_id="binance",
        credentials={"apiKey": "test-binance-key", "secret": "test-binance-secret"},
        wallets=["spot", "funding"],
    )
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    tenants.url = live_server.url
    return tenants


def report_path(slug: str) -> str | None:
    """The exposure report's URL, or None while riskmodels has no such page."""
    try:
        return reverse("riskmodels:report", args=[slug])
    except NoReverseMatch:
        return None


@dataclass
class Visitor:
    """One signed-in browser tab that records every console error and page error."""

    page: Page
    base_url: str
    role: str
    errors: list[str] = field(default_factory=list)

    def listen(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def visit(self, path: str, *, shot: str = "", status: int = 200) -> Response:
        response = self.page.goto(self.base_url + path)
        assert response is not None, path
        assert response.status == status, (path, response.status)
        self.page.wait_for_load_state("load")
        if status == 200:
            self.assert_clean(path)
        else:
            self.errors.clear()  # Chromium logs the expected 404 itself as a console error
        if shot:
            self.screenshot(shot)
        return response

    def assert_clean(self, where: str) -> None:
        errors, self.errors = self.errors, []
        assert errors == [], f"{self.role} at {where}: {errors}"

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.role}-{name}.png"), full_page=True)

    def log_in(self, user: User) -> None:
        """Through the real login form, then the TOTP step for roles that must use it."""
        self.visit("/accounts/login/")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("form.login button[type=submit]")
        if user.role in (Role.ADMIN, Role.MANAGER):
            self.page.wait_for_url("**/two-factor/verify/**")
            device = TOTPDevice.objects.get(user=user, confirmed=True)
            self.page.fill("#id_token", device_token(device))
            self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(self.base_url + "/")
        self.assert_clean("login")


@pytest.fixture
def visit(browser, site) -> Iterator[object]:
    """Makes a signed-in Visitor for a user; each has its own browser context (cookies)."""
    contexts = []

    def sign_in(user: User) -> Visitor:
        if user.role in (Role.ADMIN, Role.MANAGER):
            TOTPDevice.objects.get_or_create(user=user, name="phone", confirmed=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        visitor = Visitor(context.new_page(), site.url, user.username)
        visitor.listen()
        visitor.log_in(user)
        return visitor

    yield sign_in
    for context in contexts:
        context.close()
