"""PDF exports as jobs: asked for on a page, printed by a worker, fetched when ready.

A PDF costs a whole headless Chromium for up to a minute, so it never runs in a web request,
and only so many run at once: one queued or running per user (PDF_MAX_PER_USER) and
PDF_MAX_CONCURRENT in all. A request beyond either is refused with the reason, never queued
without bound. A finished PDF is kept PDF_KEEP_HOURS for its owner alone; a job that has
not finished after PDF_STALE_MINUTES is marked failed (its worker died).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.access import can_manage, investor_share
from accounts.models import User
from portfolio.models import Portfolio
from riskmodels import exports
from riskmodels.freshness import report_freshness
from riskmodels.models import ExportState, PdfExport
from riskmodels.selectors import report_page

WAITING = (ExportState.QUEUED, ExportState.RUNNING)


class ExportRefused(Exception):
    """No new job now: the message says why and what to do."""


def report_context(user: User, portfolio: Portfolio) -> dict:
    """The report as this user may see it: an investor's share, forms only for managers."""
    stake = investor_share(user, portfolio)
    page = report_page(portfolio=portfolio, stake=stake, alerts=stake is None)
    snapshot = page["snapshot"] if isinstance(page, dict) else None
    return {
        "portfolio": portfolio,
        "investor": stake is not None,
        "can_manage": can_manage(user, portfolio),
        "page": page,
        "freshness": report_freshness(portfolio, snapshot, investor=stake is not None),
    }


@transaction.atomic
def request_pdf_export(*, user: User, portfolio: Portfolio) -> PdfExport:
    """A queued job, printed by a worker after the commit; ExportRefused over the limits."""
    User.objects.select_for_update().get(pk=user.pk)  # one request of a user at a time
    _expire_old()
    waiting = PdfExport.objects.filter(state__in=WAITING)
    if waiting.filter(requested_by=user).count() >= settings.PDF_MAX_PER_USER:
        raise ExportRefused("A PDF you asked for is still being prepared: wait for it first.")
    if waiting.count() >= settings.PDF_MAX_CONCURRENT:
        raise ExportRefused("The server is preparing other PDFs: try again in a minute.")
    export = PdfExport.objects.create(portfolio=portfolio, requested_by=user)
    from riskmodels.tasks import render_pdf_export  # tasks import this module

    transaction.on_commit(lambda: render_pdf_export.delay(export.pk))
    return export


def _expire_old() -> None:
    now = timezone.now()
    stale = now - timedelta(minutes=settings.PDF_STALE_MINUTES)
    PdfExport.objects.filter(state__in=WAITING, requested_at__lt=stale).update(
        state=ExportState.FAILED, finished_at=now, error="It took too long; ask again."
    )
    old = now - timedelta(hours=settings.PDF_KEEP_HOURS)
    PdfExport.objects.filter(requested_at__lt=old).delete()


def render_pdf_export(export_id: int) -> None:
    """Print one queued job; idempotent: a job already claimed or finished is left alone."""
    now = timezone.now()
    claimed = PdfExport.objects.filter(pk=export_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, started_at=now
    )
    if not claimed:
        return
    export = PdfExport.objects.select_related("portfolio", "requested_by").get(pk=export_id)
    context = report_context(export.requested_by, export.portfolio)
    if context["page"] is None:
        return _finish(export, error="There is no exposure report to print yet.")
    try:
        pdf = exports.report_pdf({**context, "can_manage": False, "printing": True})
    except exports.PdfUnavailable as error:
        return _finish(export, error=str(error))
    name = exports.filename(export.portfolio, "exposure-report", timezone.localdate()) + ".pdf"
    _finish(export, pdf=pdf, filename=name)


def _finish(
    export: PdfExport, *, pdf: bytes | None = None, filename: str = "", error: str = ""
) -> None:
    PdfExport.objects.filter(pk=export.pk, state=ExportState.RUNNING).update(
        state=ExportState.DONE if pdf else ExportState.FAILED,
        finished_at=timezone.now(),
        pdf=pdf,
        filename=filename,
        error=error[:300],
    )
