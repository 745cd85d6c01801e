"""Every URL × every role × own or other tenant's object, with the status each must answer.

A row says, for one URL, what each role gets when it asks about its own tenant's object (fund A:
bob holds a 25% stake in it, alice manages it) and about another tenant's (fund B). The test in
test_permission_matrix.py walks every row and fails on any URL of the project without one.

Row shape (tests/security/api_matrix.py, when it exists, exports API_ROWS built the same way):

    Row(name, kwargs=..., get=Expect(...) | None, post=Expect(...) | None, data={...},
        content_type=None)

- name: the URL name as reverse() takes it ("portfolio:portfolio_detail"); a pattern without a
  name is keyed by its path ("/favicon.ico").
- kwargs: Objects -> reverse() kwargs, called once with fund A's Objects ("own") and once with
  fund B's ("other"); None for a URL about no object (tried once, as "own").
- get / post: what that method must answer; None when the method is not tried.
- data: the POST body. It need not be valid: the point is who reaches the form at all.
- content_type: None posts data as a form; "application/json" posts it as JSON (the API).
- Expect(anonymous=, investor=, manager=, admin=): each role's (own, other) pair. A status is
  an int, a frozenset of ints (a form may answer 200 with errors, 302 or 400 for bad input),
  or a Redirect to a named page (LOGIN: 302 to the login page).

The roles: anonymous (no session), investor bob, manager alice, admin ada, each signed in with
a session through tests.conftest.login (password and TOTP). The Objects come from
tests/security/conftest.py (build_objects). The Django admin's own URLs are sampled here, and
test_every_admin_page_sends_non_staff_to_the_admin_login tries all that take no argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from portfolio.models import (
    CustodyLocation,
    ExchangeAccount,
    HoldingSnapshot,
    Portfolio,
    SyncRound,
    SyncRun,
    UnconfirmedDrop,
)
from riskmodels.models import Alert, ExposureSnapshot


@dataclass(frozen=True)
class Redirect:
    """A 302 to the page named `to` (query string aside)."""

    to: str

    def __repr__(self) -> str:
        return f"302→{self.to}"


Status = int | frozenset[int] | Redirect
Pair = tuple[Status, Status]  # (own tenant's object, other tenant's object)

LOGIN = Redirect("accounts:login")
ADMIN_LOGIN = Redirect("admin:login")
HOME = Redirect("home")
FORM = frozenset({200, 302, 400})  # a form's answer to a body it may reject
ROLES = ("anonymous", "investor", "manager", "admin")


def both(status: Status) -> Pair:
    return (status, status)


@dataclass(frozen=True)
class Expect:
    anonymous: Pair = (LOGIN, LOGIN)
    investor: Pair = (404, 404)
    manager: Pair = (404, 404)
    admin: Pair = (404, 404)

    def status(self, role: str, side: str) -> Status:
        own, other = getattr(self, role)
        return own if side == "own" else other


@dataclass(frozen=True)
class Objects:
    """One tenant's objects, each of a kind some URL takes."""

    portfolio: Portfolio
    location: CustodyLocation
    account: ExchangeAccount
    snapshot: HoldingSnapshot
    sync_run: SyncRun
    sync_round: SyncRound
    exposure: ExposureSnapshot
    alert: Alert
    drop: UnconfirmedDrop  # a held read of the account's location


@dataclass(frozen=True)
class Row:
    name: str
    kwargs: Callable[[Objects], dict[str, Any]] | None = None
    get: Expect | None = None
    post: Expect | None = None
    data: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None

    def expectations(self) -> dict[str, Expect]:
        methods = {"GET": self.get, "POST": self.post}
        return {method: expect for method, expect in methods.items() if expect is not None}


def reader(ok: Status) -> Expect:
    """Anyone who sees the portfolio: the stake-holding investor, its manager, admins."""
    return Expect(investor=(ok, 404), manager=(ok, 404), admin=both(ok))


def manager_only(ok: Status) -> Expect:
    """Manage-level actions: an investor gets the same 404 as a stranger."""
    return Expect(investor=both(404), manager=(ok, 404), admin=both(ok))


def policy_page(ok: Status) -> Expect:
    """Admins only, whatever the portfolio; managers and investors get 403."""
    return Expect(investor=both(403), manager=both(403), admin=both(ok))


def everyone(anonymous: Status, signed_in: Status) -> Expect:
    return Expect(
        anonymous=both(anonymous),
        investor=both(signed_in),
        manager=both(signed_in),
        admin=both(signed_in),
    )


def admin_only(ok: Status) -> Expect:
    # Neither managers nor investors are staff: the admin sends them to its own login.
    return Expect(
        anonymous=both(ADMIN_LOGIN),
        investor=both(ADMIN_LOGIN),
        manager=both(ADMIN_LOGIN),
        admin=both(ok),
    )


# A POST-only view answers GET with 405 to anyone signed in, before looking anything up.
POST_ONLY = everyone(LOGIN, 405)


def requester_only(ok: Status) -> Expect:
    """A PDF job is its requester's alone (the manager's here): admins included, others 404."""
    return Expect(investor=both(404), manager=(ok, 404), admin=both(404))


def pdf_job(o: Objects) -> dict[str, Any]:
    """A finished PDF job asked for by the tenant's manager, made when first asked for."""
    from accounts.models import AccessGrant
    from riskmodels.models import ExportState, PdfExport

    requester = AccessGrant.objects.get(portfolio=o.portfolio, level="manage").user
    found = PdfExport.objects.filter(portfolio=o.portfolio).first() or PdfExport.objects.create(
        portfolio=o.portfolio,
        requested_by=requester,
        state=ExportState.DONE,
        pdf=b"%PDF-1.4",
        filename="report.pdf",
    )
    return {"pk": found.pk}


def slug(o: Objects) -> dict[str, Any]:
    return {"slug": o.portfolio.slug}


def location(o: Objects) -> dict[str, Any]:
    return {"pk": o.location.pk}


def account(o: Objects) -> dict[str, Any]:
    return {"pk": o.account.pk}


def drop(o: Objects) -> dict[str, Any]:
    return {"pk": o.account.pk, "drop_id": o.drop.pk}


def sync_round(o: Objects) -> dict[str, Any]:
    return {"slug": o.portfolio.slug, "round_id": o.sync_round.pk}


def alert(o: Objects) -> dict[str, Any]:
    return {"pk": o.alert.pk}


def past_report(o: Objects) -> dict[str, Any]:
    return {"slug": o.portfolio.slug, "pk": o.exposure.pk}


def scenario(o: Objects) -> dict[str, Any]:
    """A custom stress scenario of the tenant's portfolio, made when first asked for."""
    from riskmodels.models import StressScenario

    found, _ = StressScenario.objects.get_or_create(portfolio=o.portfolio, name="Matrix")
    return {"pk": found.pk}


def admin_account(o: Objects) -> dict[str, Any]:
    return {"object_id": o.account.pk}


ROWS: list[Row] = [
    # Site and sign-in.
    Row("home", get=everyone(LOGIN, 200)),
    Row("health", get=everyone(200, 200)),
    Row("/favicon.ico", get=everyone(204, 204)),
    Row("accounts:login", get=everyone(200, HOME), post=everyone(200, HOME)),
    Row("accounts:logout", get=everyone(405, 405), post=everyone(LOGIN, LOGIN)),
    Row(
        "accounts:two_factor_setup",
        # Only the investor without an authenticator app has anything to set up here.
        get=Expect(investor=both(200), manager=both(HOME), admin=both(HOME)),
        post=Expect(investor=both(200), manager=both(HOME), admin=both(HOME)),
        data={"otp_token": "000000"},
    ),
    Row("accounts:two_factor_verify", get=everyone(LOGIN, HOME), post=everyone(LOGIN, HOME)),
    # Portfolios, locations and syncing.
    Row("portfolio:portfolio_detail", slug, get=reader(200)),
    Row("portfolio:sync_portfolio", slug, get=POST_ONLY, post=manager_only(302)),
    Row("portfolio:sync_round_status", sync_round, get=manager_only(200)),
    Row("portfolio:location_detail", location, get=reader(200)),
    Row("portfolio:sync_location", location, get=POST_ONLY, post=manager_only(302)),
    Row("portfolio:confirm_drop", drop, get=POST_ONLY, post=manager_only(302)),
    Row("portfolio:reject_drop", drop, get=POST_ONLY, post=manager_only(302)),
    # Holdings entered by hand.
    Row("manual:holdings", slug, get=manager_only(200)),
    Row("manual:set_holding", slug, get=POST_ONLY, post=manager_only(FORM)),
    Row("manual:upload", slug, get=POST_ONLY, post=manager_only(FORM)),
    # Exchange accounts (credentials).
    Row("sources:add_exchange_account", slug, get=manager_only(200), post=manager_only(FORM)),
    Row("sources:edit_exchange_account", account, get=manager_only(200), post=manager_only(FORM)),
    Row("sources:save_settlement", account, get=POST_ONLY, post=manager_only(FORM)),
    Row("sources:delete_settlement", account, get=POST_ONLY, post=manager_only(302)),
    # Exposure reports, exports and alerts.
    Row("riskmodels:report", slug, get=reader(200)),
    Row("riskmodels:compute_now", slug, get=POST_ONLY, post=manager_only(302)),
    Row("riskmodels:export_holdings_csv", slug, get=reader(200)),
    Row("riskmodels:export_exposures_csv", slug, get=reader(200)),
    Row("riskmodels:export_pdf", slug, get=reader(200), post=reader(302)),
    Row("riskmodels:pdf_export", pdf_job, get=requester_only(200)),
    Row("riskmodels:download_pdf_export", pdf_job, get=requester_only(200)),
    Row("riskmodels:history", slug, get=reader(200)),  # i15-history
    Row("riskmodels:past_report", past_report, get=reader(200)),  # i15-history
    Row("riskmodels:since", slug, get=reader(200)),  # i15-history
    Row("riskmodels:acknowledge_alert", alert, get=POST_ONLY, post=manager_only(FORM)),
    # Alerts and stress pages (issue 15, points 9 and 10).
    Row("riskmodels:alerts", slug, get=reader(200)),
    Row("riskmodels:stress", slug, get=reader(200)),
    Row(
        "riskmodels:new_scenario",
        slug,
        get=manager_only(200),
        post=manager_only(FORM),
        data={"name": "Matrix"},
    ),
    Row("riskmodels:delete_scenario", scenario, get=POST_ONLY, post=manager_only(302)),
    # The risk policy page (admins only; refused outright to everyone else).
    Row("riskmodels:policy", get=policy_page(200), post=policy_page(200)),
    Row("riskmodels:portfolio_policy", slug, get=policy_page(200), post=policy_page(200)),
    # The firm-wide view: admins and managers (over what they see); never investors.
    Row("riskmodels:firm", get=Expect(investor=both(404), manager=both(200), admin=both(200))),
    # The Django admin, for admins only: its index and the pages that touch credentials.
    Row("admin:index", get=admin_only(200)),
    Row("admin:portfolio_exchangeaccount_changelist", get=admin_only(200)),
    Row("admin:portfolio_exchangeaccount_change", admin_account, get=admin_only(200)),
    Row("admin:accounts_auditevent_changelist", get=admin_only(200)),
]


def all_rows() -> list[Row]:
    """These rows and the API's, when tests/security/api_matrix.py exists."""
    try:
        from tests.security.api_matrix import API_ROWS
    except ImportError:
        return list(ROWS)
    return [*ROWS, *API_ROWS]
