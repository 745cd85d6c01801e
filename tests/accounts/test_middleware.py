"""Until a required TOTP check passes, only setup, verify and logout are reachable."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from tests.accounts.test_two_factor import SETUP, VERIFY, confirmed_device, password_only
from tests.conftest import login


@pytest.mark.parametrize("role", ["ada", "alice"])
def test_unverified_admin_or_manager_reaches_no_page_but_setup(tenants, role):
    client = password_only(getattr(tenants, role))
    for url in (
        reverse("home"),
        reverse("portfolio:portfolio_detail", args=["fund-a"]),
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(f"{SETUP}?next="), url
    assert client.get(SETUP).status_code == 200


def test_unverified_user_with_device_reaches_no_page_but_verify(tenants):
    confirmed_device(tenants.charlie)
    client = password_only(tenants.charlie)
    response = client.get(reverse("portfolio:portfolio_detail", args=["fund-b"]))
    assert response.url.startswith(f"{VERIFY}?next=")
    assert client.get(VERIFY).status_code == 200


def test_unverified_user_can_log_out(tenants):
    client = password_only(tenants.alice)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("home")).url.startswith(reverse("accounts:login"))


def test_post_is_refused_until_verified(tenants):
    client = password_only(tenants.alice)
    response = client.post(reverse("portfolio:sync_portfolio", args=["fund-a"]))
    assert response.status_code == 302 and response.url.startswith(SETUP)


def test_another_users_device_does_not_verify_a_session(tenants):
    charlie_device = confirmed_device(tenants.charlie)
    client = password_only(tenants.alice)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = charlie_device.persistent_id
    session.save()
    assert client.get(reverse("home")).url.startswith(SETUP)


def test_anonymous_users_still_go_to_login(db):
    response = Client().get(reverse("home"))
    assert response.url.startswith(reverse("accounts:login"))
    assert Client().get(reverse("health")).status_code != 302


def test_verified_sessions_pass(tenants):
    for user in (tenants.ada, tenants.alice, tenants.charlie):
        assert login(user).get(reverse("home")).status_code == 200
