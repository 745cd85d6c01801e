"""Who may see what, in one place.

Admins see every portfolio and may manage it. Managers see the portfolios they hold a grant
on and manage those granted at the manage level. Investors see only the portfolios they are
granted or hold a stake in, read-only. Every view fetches objects through the helpers below,
which answer 404 (never 403) for anything outside the user's reach, so that another tenant's
objects cannot even be shown to exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from accounts.models import AccessLevel, InvestorStake, Role
from portfolio.models import CustodyLocation, ExchangeAccount, HoldingSnapshot, Portfolio, SyncRun
from riskmodels.models import Alert, ExposureSnapshot, PdfExport, StressScenario

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

M = TypeVar("M", bound=Model)


def portfolios_for(user: User | AnonymousUser, *, manage: bool = False) -> QuerySet[Portfolio]:
    """The portfolios `user` may see, or with `manage` those they may act on; none if anonymous."""
    if not user.is_authenticated or not user.is_active:
        return Portfolio.objects.none()
    if user.role == Role.ADMIN:
        return Portfolio.objects.all()
    if manage:
        if user.role != Role.MANAGER:
            return Portfolio.objects.none()
        return Portfolio.objects.filter(grants__user=user, grants__level=AccessLevel.MANAGE)
    reach = Q(grants__user=user)
    if user.role == Role.INVESTOR:
        reach |= Q(stakes__investor=user)
    return Portfolio.objects.filter(reach).distinct()


def firm_portfolios_for(user: User) -> QuerySet[Portfolio]:
    """The portfolios summed in the firm-wide view: every one for admins, those granted for
    managers; investors get 404 (the firm's figures are not theirs to see)."""
    if user.role not in (Role.ADMIN, Role.MANAGER):
        raise Http404
    return portfolios_for(user)


def can_manage(user: User, portfolio: Portfolio) -> bool:
    return portfolios_for(user, manage=True).filter(pk=portfolio.pk).exists()


def investor_share(user: User, portfolio: Portfolio) -> Decimal | None:
    """The stake an investor sees the portfolio through, or None to see it whole.

    An investor with a stake sees stake × every figure even when also granted the portfolio:
    the smaller view is the safe one. Admins and managers always see it whole.
    """
    if user.role != Role.INVESTOR:
        return None
    stake = InvestorStake.objects.filter(investor=user, portfolio=portfolio).first()
    return stake.share if stake else None


# Ids are bigint columns: anything else (a huge number, "²", a negative) names no row.
MAX_ID = 2**63 - 1


def id_or_404(value: object) -> int:
    """An id from a URL or a form as an int, or 404: ASCII digits within the column's range.
    (str.isdigit accepts "²" and other digits int() refuses; SQLite overflows on big ones.)"""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise Http404
    return int(text)


def _get_or_404(queryset: QuerySet[M], **lookup: object) -> M:
    if "pk" in lookup:
        lookup["pk"] = id_or_404(lookup["pk"])
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:  # each model's DoesNotExist subclasses it; .get raises no other
        raise Http404 from None


def get_portfolio_for_user(user: User, slug: str, *, manage: bool = False) -> Portfolio:
    return _get_or_404(portfolios_for(user, manage=manage), slug=slug)


def get_location_for_user(user: User, pk: int, *, manage: bool = False) -> CustodyLocation:
    allowed = portfolios_for(user, manage=manage)
    queryset = CustodyLocation.objects.select_related("portfolio", "custodian", "exchange_account")
    return _get_or_404(queryset.filter(portfolio__in=allowed), pk=pk)


def get_exchange_account_for_user(user: User, pk: int, *, manage: bool = False) -> ExchangeAccount:
    allowed = portfolios_for(user, manage=manage)
    queryset = ExchangeAccount.objects.select_related("location__portfolio")
    return _get_or_404(queryset.filter(location__portfolio__in=allowed), pk=pk)


def get_snapshot_for_user(user: User, pk: int) -> HoldingSnapshot:
    queryset = HoldingSnapshot.objects.select_related("location__portfolio")
    return _get_or_404(queryset.filter(location__portfolio__in=portfolios_for(user)), pk=pk)


def get_sync_run_for_user(user: User, pk: int) -> SyncRun:
    queryset = SyncRun.objects.select_related("location__portfolio")
    return _get_or_404(queryset.filter(location__portfolio__in=portfolios_for(user)), pk=pk)


def get_exposure_for_user(user: User, pk: int) -> ExposureSnapshot:
    queryset = ExposureSnapshot.objects.select_related("portfolio")
    return _get_or_404(queryset.filter(portfolio__in=portfolios_for(user)), pk=pk)


def get_alert_for_user(user: User, pk: int, *, manage: bool = False) -> Alert:
    queryset = Alert.objects.select_related("portfolio")
    return _get_or_404(queryset.filter(portfolio__in=portfolios_for(user, manage=manage)), pk=pk)


def get_scenario_for_user(user: User, pk: int, *, manage: bool = False) -> StressScenario:
    """A portfolio's own stress scenario; global ones (no portfolio) are admin business."""
    allowed = portfolios_for(user, manage=manage)
    queryset = StressScenario.objects.select_related("portfolio")
    return _get_or_404(queryset.filter(portfolio__in=allowed), pk=pk)


def get_pdf_export_for_user(user: User, pk: int) -> PdfExport:
    """A PDF export is its requester's alone (it may show their share of a fund)."""
    queryset = PdfExport.objects.select_related("portfolio").filter(requested_by=user)
    return _get_or_404(queryset.filter(portfolio__in=portfolios_for(user)), pk=pk)
