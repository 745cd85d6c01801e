"""Writes of the risk side: exposure snapshots, alert acknowledgements, limits, scenarios."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.access import can_manage
from accounts.audit import record_audit
from accounts.models import AuditAction
from portfolio.models import AMOUNT, Asset, Counterparty, Portfolio
from riskmodels import engine, freshness
from riskmodels.alerts import cause_of, evaluate_alerts, notify_managers
from riskmodels.digests import holdings_digest, inputs_digest
from riskmodels.models import (
    Alert,
    AlertState,
    ChangeKind,
    ExposureSnapshot,
    Limit,
    PolicyAction,
    PolicyChange,
    RiskPolicy,
    StressScenario,
    StressShock,
)
from riskmodels.policies import Subject, limit_rows, resolve_policy
from riskmodels.reports import to_json
from riskmodels.selectors import latest_exposure, load_inputs, load_registry, load_scenarios

if TYPE_CHECKING:
    from accounts.models import User

# The nav column is numeric(38, 18); the exact NAV (up to 36 decimals) is in the report.
NAV_QUANTUM = Decimal(1).scaleb(-AMOUNT["decimal_places"])
NAV_CONTEXT = Context(prec=AMOUNT["max_digits"], rounding=ROUND_HALF_EVEN)


@transaction.atomic
def compute_exposure(
    *, portfolio_id: int, as_of: datetime | None = None
) -> ExposureSnapshot | None:
    """Run the engine over a portfolio's current holdings and store the result.

    1. Lock the portfolio row, so that two runs for one portfolio take turns.
    2. Load holdings, prices, counterparties, the resolved policy and the custom scenarios.
    3. Digest them; if the latest snapshot has the same digest, return it: nothing changed.
    4. Run the engine, store the snapshot, bring the alerts in line, mail the managers.
    Returns None when the portfolio no longer exists (a task enqueued before its deletion).
    """
    portfolio = Portfolio.objects.select_for_update().filter(pk=portfolio_id).first()
    if portfolio is None:
        return None
    as_of = as_of or timezone.now()
    seen = freshness.pending_change_ids(portfolio_id)  # before the inputs: they include these
    registry = load_registry()
    inputs = load_inputs(portfolio_id, registry, as_of)
    subjects = [Subject(c.slug, c.tier) for c in registry.counterparties]
    policy = resolve_policy(limit_rows(portfolio_id), subjects)
    scenarios = load_scenarios(portfolio_id, registry)
    holdings = holdings_digest(inputs)
    digest = inputs_digest(
        inputs=inputs,
        holdings=holdings,
        registry=registry.counterparties,
        policy=policy,
        scenarios=scenarios,
        as_of=as_of,
    )
    previous = latest_exposure(portfolio_id)
    if previous is not None and previous.inputs_digest == digest:
        freshness.clear_changes(seen)
        return previous
    report = engine.build_report(
        inputs.positions(),
        registry.counterparties,
        as_of=as_of,
        policy=policy,
        scenarios=scenarios,
        locks=inputs.locked_amounts(),
    )
    snapshot = _store(portfolio, report, inputs.data_as_of, digest, holdings)
    cause = cause_of(holdings, previous.holdings_digest if previous else None)
    changes = evaluate_alerts(
        portfolio_id=portfolio_id, findings=report.findings, now=as_of, cause=cause
    )
    notify_managers(portfolio=portfolio, changes=changes)
    freshness.clear_changes(seen)
    transaction.on_commit(_evaluate_firm_alerts)  # the firm's sums changed with this report
    return snapshot


def _evaluate_firm_alerts() -> None:
    from riskmodels.tasks import evaluate_firm_alerts  # tasks import this module

    evaluate_firm_alerts.delay()


def _store(
    portfolio: Portfolio,
    report: engine.Report,
    data_as_of: datetime | None,
    digest: str,
    holdings: str,
) -> ExposureSnapshot:
    return ExposureSnapshot.objects.create(
        portfolio=portfolio,
        computed_at=report.as_of,
        data_as_of=data_as_of,
        nav=report.nav.quantize(NAV_QUANTUM, context=NAV_CONTEXT),
        inputs_digest=digest,
        holdings_digest=holdings,
        report=to_json(report),
    )


def acknowledge_alert(*, alert: Alert, user: User, reason: str) -> Alert:
    """A manager takes note of a live alert, with a reason; it stays live until resolved."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the alert is acknowledged."})
    if not can_manage(user, alert.portfolio):
        raise PermissionDenied
    # A conditional UPDATE: an alert resolved meanwhile is not acknowledged after the fact.
    updated = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(state=AlertState.RESOLVED)
        .update(
            state=AlertState.ACKNOWLEDGED,
            acknowledged_by=user,
            acknowledged_at=timezone.now(),
            acknowledge_reason=reason,
        )
    )
    if not updated:
        raise ValidationError("This alert is resolved; there is nothing to acknowledge.")
    before = alert.state
    alert.refresh_from_db()
    record_audit(
        actor=user,
        action=AuditAction.ALERT_ACKNOWLEDGED,
        target=alert,
        portfolio_id=alert.portfolio_id,
        changes={"state": (before, alert.state), "reason": (None, reason)},
    )
    return alert


def _levels(limit: Limit | None) -> tuple[Decimal | None, Decimal | None]:
    return (None, None) if limit is None else (limit.warn, limit.breach)


def _record(
    *,
    limit: Limit,
    user: User | None,
    action: str,
    old: tuple[Decimal | None, Decimal | None],
    new: tuple[Decimal | None, Decimal | None],
) -> PolicyChange:
    policy = limit.policy
    record_audit(
        actor=user,
        action=AuditAction.LIMIT_DELETED
        if action == PolicyAction.DELETED
        else AuditAction.LIMIT_SAVED,
        target=limit,
        portfolio_id=policy.portfolio_id,
        changes={"warn": (old[0], new[0]), "breach": (old[1], new[1])},
    )
    return PolicyChange.objects.create(
        policy=policy if policy.pk else None,
        policy_name=policy.name,
        limit_id=limit.pk,
        rule=limit.rule,
        scope=limit.scope,
        action=action,
        old_warn=old[0],
        old_breach=old[1],
        new_warn=new[0],
        new_breach=new[1],
        changed_by=user,
        changed_by_name=user.get_username() if user else "",
        changed_at=timezone.now(),
    )


@transaction.atomic
def save_limit(*, limit: Limit, user: User) -> Limit:
    """Validate and save a limit, and record who changed which levels from what to what."""
    limit.full_clean()
    before = Limit.objects.filter(pk=limit.pk).first() if limit.pk else None
    action = PolicyAction.CREATED if before is None else PolicyAction.CHANGED
    limit.save()
    if before is None or _levels(before) != _levels(limit) or before.scope != limit.scope:
        _record(limit=limit, user=user, action=action, old=_levels(before), new=_levels(limit))
        _note_policy_change(limit, action, user)
    RiskPolicy.objects.filter(pk=limit.policy_id).update(updated_at=timezone.now())
    return limit


@transaction.atomic
def delete_limit(*, limit: Limit, user: User) -> None:
    """Delete a limit and record its last levels."""
    _record(
        limit=limit, user=user, action=PolicyAction.DELETED, old=_levels(limit), new=(None, None)
    )
    _note_policy_change(limit, PolicyAction.DELETED, user)
    limit.delete()


def _note_policy_change(limit: Limit, action: str, user: User | None) -> None:
    """The policy's portfolio, or every portfolio for the global one, is recomputed."""
    portfolio_id = limit.policy.portfolio_id
    done = PolicyAction(action).label.lower()
    freshness.note_change(
        portfolio_ids=freshness.every_portfolio_id() if portfolio_id is None else [portfolio_id],
        kind=ChangeKind.POLICY,
        summary=f"{limit.get_rule_display()} limit ({limit.scope}) {done}",
        user=user,
    )


@transaction.atomic
def delete_policy(*, policy: RiskPolicy, user: User) -> None:
    """Delete a policy, recording the deletion of each of its limits first."""
    for limit in policy.limits.select_related("counterparty", "policy"):
        delete_limit(limit=limit, user=user)
    policy.delete()


@dataclass(frozen=True, slots=True)
class ShockSpec:
    """A shock as a form gives it: a fraction and at least one selector."""

    fraction: Decimal
    custody_group: Counterparty | None = None
    issuer_group: Counterparty | None = None
    asset: Asset | None = None
    asset_kind: str = ""


@transaction.atomic
def create_stress_scenario(
    *, user: User, name: str, shocks: Iterable[ShockSpec], portfolio: Portfolio | None = None
) -> StressScenario:
    """A custom scenario: admins define global ones, managers their own portfolios' ones."""
    allowed = user.is_admin if portfolio is None else can_manage(user, portfolio)
    if not allowed:
        raise PermissionDenied
    scenario = StressScenario(portfolio=portfolio, name=name.strip(), created_by=user)
    scenario.full_clean()
    scenario.save()
    rows = [StressShock(scenario=scenario, **vars_of(spec)) for spec in shocks]
    if not rows:
        raise ValidationError("A scenario needs at least one shock.")
    for row in rows:
        row.full_clean()
    StressShock.objects.bulk_create(rows)
    record_audit(
        actor=user,
        action=AuditAction.SCENARIO_CREATED,
        target=scenario,
        portfolio_id=scenario.portfolio_id,
        changes={"shocks": (None, "; ".join(_shock_text(row) for row in rows))},
    )
    return scenario


@transaction.atomic
def delete_stress_scenario(*, scenario: StressScenario, user: User) -> None:
    """Delete a portfolio's custom scenario, recording its shocks in the audit trail."""
    if scenario.portfolio is None or not can_manage(user, scenario.portfolio):
        raise PermissionDenied
    shocks = scenario.shocks.select_related("custody_group", "issuer_group", "asset").order_by("pk")
    record_audit(
        actor=user,
        action=AuditAction.SCENARIO_DELETED,
        target=scenario,
        portfolio_id=scenario.portfolio_id,
        changes={"shocks": ("; ".join(_shock_text(row) for row in shocks), None)},
    )
    scenario.delete()


def _shock_text(shock: StressShock) -> str:
    """ "0.35 custody_group=binance": a shock as the audit trail records it."""
    selectors = [
        f"{name}={value}"
        for name, value in (
            ("custody_group", shock.custody_group and shock.custody_group.slug),
            ("issuer_group", shock.issuer_group and shock.issuer_group.slug),
            ("asset", shock.asset and shock.asset.code),
            ("asset_kind", shock.asset_kind),
        )
        if value
    ]
    return f"{format(shock.fraction.normalize(), 'f')} {' '.join(selectors)}"


def vars_of(spec: ShockSpec) -> dict:
    return {name: getattr(spec, name) for name in spec.__slots__}
