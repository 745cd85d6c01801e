"""Custom stress scenarios: who may define them, validation, and their losses in the report."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from portfolio.models import AssetKind
from riskmodels.models import StressShock
from riskmodels.services import ShockSpec, compute_exposure, create_stress_scenario
from tests.factories import CounterpartyFactory, StressScenarioFactory, exchange, worked_check

pytestmark = pytest.mark.django_db


def test_manager_scenario_is_in_the_report(tenants):
    worked_check(tenants.fund_a)
    shocks = [
        ShockSpec(D("0.5"), custody_group=exchange("binance")),
        ShockSpec(D("0.2"), custody_group=exchange("okx")),
    ]
    create_stress_scenario(user=tenants.alice, portfolio=tenants.fund_a, name="Asia", shocks=shocks)
    report = compute_exposure(portfolio_id=tenants.fund_a.pk).report
    asia = next(s for s in report["scenarios"] if s["name"] == "Asia")
    # 50% of 3.0m + 20% of 1.5m
    assert (asia["loss"], asia["loss_share"]) == ("1800000", "0.18")
    assert report["scenarios"][-1]["name"] == "Asia"  # custom ones follow the presets


def test_global_scenario_applies_to_every_portfolio_and_shocks_compound(tenants):
    worked_check(tenants.fund_a)
    shocks = [
        ShockSpec(D("0.5"), asset_kind=AssetKind.NATIVE),
        ShockSpec(D("0.5"), custody_group=exchange("binance")),
    ]
    create_stress_scenario(user=tenants.ada, name="crash", shocks=shocks)
    report = compute_exposure(portfolio_id=tenants.fund_a.pk).report
    crash = next(s for s in report["scenarios"] if s["name"] == "crash")
    # Binance: 1 - 0.5 × 0.5 = 75% of 3.0m; the other 7.0m lose 50%.
    assert crash["loss"] == "5750000"


def test_only_admins_define_global_scenarios_and_managers_their_own(tenants):
    shock = [ShockSpec(D("0.1"), asset_kind=AssetKind.NATIVE)]
    with pytest.raises(PermissionDenied):
        create_stress_scenario(user=tenants.alice, name="global", shocks=shock)
    for outsider in (tenants.charlie, tenants.bob, tenants.dora):
        with pytest.raises(PermissionDenied):
            create_stress_scenario(
                user=outsider, portfolio=tenants.fund_a, name="not mine", shocks=shock
            )


def test_a_shock_needs_a_selector_and_a_fraction_within_0_and_1(tenants):
    with pytest.raises(ValidationError):
        create_stress_scenario(
            user=tenants.alice, portfolio=tenants.fund_a, name="none", shocks=[ShockSpec(D("0.1"))]
        )
    with pytest.raises(ValidationError):
        create_stress_scenario(
            user=tenants.alice,
            portfolio=tenants.fund_a,
            name="too much",
            shocks=[ShockSpec(D("1.5"), asset_kind=AssetKind.NATIVE)],
        )
    with pytest.raises(ValidationError):
        create_stress_scenario(user=tenants.alice, portfolio=tenants.fund_a, name="no", shocks=[])


def test_a_shock_names_a_group_not_an_entity(tenants):
    entity = CounterpartyFactory.create(slug="binance-us", parent=exchange("binance"))
    with pytest.raises(ValidationError):
        create_stress_scenario(
            user=tenants.alice,
            portfolio=tenants.fund_a,
            name="us",
            shocks=[ShockSpec(D("0.1"), custody_group=entity)],
        )


def test_database_refuses_a_shock_without_selector(db):
    scenario = StressScenarioFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        StressShock.objects.create(scenario=scenario, fraction=D("0.1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        StressShock.objects.create(scenario=scenario, fraction=D("1.1"), asset_kind="native")
