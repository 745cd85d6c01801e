from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.http import Http404

from accounts import access
from accounts.models import AccessGrant, AccessLevel
from tests.factories import (
    AlertFactory,
    ExchangeAccountFactory,
    ExposureFactory,
    LocationFactory,
    SnapshotFactory,
    SyncRunFactory,
    UserFactory,
)


def test_admin_sees_every_portfolio(tenants):
    assert set(access.portfolios_for(tenants.ada)) == {tenants.fund_a, tenants.fund_b}


def test_manager_sees_only_granted_portfolios(tenants):
    assert list(access.portfolios_for(tenants.alice)) == [tenants.fund_a]
    assert list(access.portfolios_for(tenants.charlie)) == [tenants.fund_b]


def test_investor_sees_portfolios_with_stake_or_grant(tenants):
    assert list(access.portfolios_for(tenants.bob)) == [tenants.fund_a]
    assert list(access.portfolios_for(tenants.dora)) == [tenants.fund_b]


def test_investor_never_manages_even_with_a_manage_grant(tenants):
    AccessGrant.objects.filter(user=tenants.dora).update(level=AccessLevel.MANAGE)
    assert not access.portfolios_for(tenants.dora, manage=True).exists()


def test_manager_with_view_grant_cannot_manage(tenants):
    AccessGrant.objects.filter(user=tenants.alice).update(level=AccessLevel.VIEW)
    assert list(access.portfolios_for(tenants.alice)) == [tenants.fund_a]
    assert not access.can_manage(tenants.alice, tenants.fund_a)


def test_inactive_user_sees_nothing(tenants):
    tenants.alice.is_active = False
    assert not access.portfolios_for(tenants.alice).exists()


def test_user_without_grant_sees_nothing(db):
    assert not access.portfolios_for(UserFactory.create(role="manager")).exists()


def test_investor_share_applies_to_staked_investor_only(tenants):
    assert access.investor_share(tenants.bob, tenants.fund_a) == Decimal("0.25")
    assert access.investor_share(tenants.dora, tenants.fund_b) is None
    assert access.investor_share(tenants.alice, tenants.fund_a) is None


def test_portfolio_with_stake_and_grant_is_listed_once(tenants):
    AccessGrant.objects.create(user=tenants.bob, portfolio=tenants.fund_a)
    assert list(access.portfolios_for(tenants.bob)) == [tenants.fund_a]


# Every per-model helper: (make an object in a portfolio, fetch it for a user).
HELPERS: dict[str, tuple[Callable, Callable]] = {
    "portfolio": (
        lambda fund: fund,
        lambda u, o, **kw: access.get_portfolio_for_user(u, o.slug, **kw),
    ),
    "location": (lambda fund: LocationFactory.create(portfolio=fund), access.get_location_for_user),
    "exchange_account": (
        lambda fund: ExchangeAccountFactory.create(location__portfolio=fund),
        access.get_exchange_account_for_user,
    ),
    "snapshot": (
        lambda fund: SnapshotFactory.create(location__portfolio=fund),
        access.get_snapshot_for_user,
    ),
    "sync_run": (
        lambda fund: SyncRunFactory.create(location__portfolio=fund),
        access.get_sync_run_for_user,
    ),
    "exposure": (lambda fund: ExposureFactory.create(portfolio=fund), access.get_exposure_for_user),
    "alert": (lambda fund: AlertFactory.create(portfolio=fund), access.get_alert_for_user),
}
MANAGE_HELPERS = ("portfolio", "location", "exchange_account", "alert")
# Who reaches an object of fund A: (user, may read, may manage).
READERS = [("ada", True, True), ("alice", True, True), ("bob", True, False),
           ("charlie", False, False), ("dora", False, False)]  # fmt: skip


def _fetch(name: str, user, obj, manage: bool):
    fetch = HELPERS[name][1]
    target = obj.pk if name != "portfolio" else obj
    return fetch(user, target, manage=True) if manage else fetch(user, target)


@pytest.mark.parametrize("name", HELPERS)
@pytest.mark.parametrize(("who", "may_read", "may_manage"), READERS)
def test_every_helper_answers_404_outside_the_users_reach(tenants, name, who, may_read, may_manage):
    obj = HELPERS[name][0](tenants.fund_a)
    user = getattr(tenants, who)
    if may_read:
        assert _fetch(name, user, obj, manage=False) == obj
    else:
        with pytest.raises(Http404):
            _fetch(name, user, obj, manage=False)
    if name in MANAGE_HELPERS:
        if may_manage:
            assert _fetch(name, user, obj, manage=True) == obj
        else:
            with pytest.raises(Http404):
                _fetch(name, user, obj, manage=True)


def test_missing_object_is_404_even_for_admin(tenants):
    with pytest.raises(Http404):
        access.get_location_for_user(tenants.ada, 999_999)
