"""Failed logins lock a username from one address (django-axes); wrong TOTP codes slow down."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.test_two_factor import VERIFY, confirmed_device, password_only
from tests.factories import PASSWORD
from tests.processes import device_token

LOGIN = reverse("accounts:login")


def _attempt(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail_five_times(client: Client, username: str) -> None:
    for _ in range(4):
        assert _attempt(client, username, "wrong").status_code == 200
    assert _attempt(client, username, "wrong").status_code == 429  # the fifth locks at once


def test_five_wrong_passwords_lock_the_username_from_that_address(tenants):
    client = Client()
    _fail_five_times(client, "alice")
    response = _attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins for this username" in page
    assert "locked for 15 minutes" in page
    assert '<form class="login card"' in page  # still the login page
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(tenants):
    _fail_five_times(Client(), "alice")
    assert _attempt(Client(), "alice", PASSWORD, address="10.0.0.2").status_code == 302
    assert _attempt(Client(), "charlie", PASSWORD).status_code == 302


def test_lockout_ends_after_fifteen_minutes(tenants):
    _fail_five_times(Client(), "alice")
    assert _attempt(Client(), "alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _attempt(Client(), "alice", PASSWORD).status_code == 302


def test_successful_login_forgets_earlier_failures(tenants):
    for _ in range(4):
        _attempt(Client(), "alice", "wrong")
    assert _attempt(Client(), "alice", PASSWORD).status_code == 302
    for _ in range(4):
        _attempt(Client(), "alice", "wrong")
    assert _attempt(Client(), "alice", PASSWORD).status_code == 302


def test_wrong_passwords_still_say_so_before_the_lockout(tenants):
    page = _attempt(Client(), "alice", "wrong").content.decode()
    assert "Please enter a correct username and password" in page


def test_wrong_totp_code_makes_the_next_one_wait(tenants):
    device = confirmed_device(tenants.alice)
    client = password_only(tenants.alice)
    wrong = f"{(int(device_token(device)) + 1) % 1_000_000:06d}"
    client.post(VERIFY, {"token": wrong})
    refused = client.post(VERIFY, {"token": device_token(device)})
    assert "Too many wrong codes" in refused.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_totp_throttle_doubles_and_then_lets_the_right_code_in(tenants):
    device = confirmed_device(tenants.alice)
    client = password_only(tenants.alice)
    for _ in range(3):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
        client.post(VERIFY, {"token": "000000" if device_token(device) != "000000" else "111111"})
    device.refresh_from_db()
    assert device.throttling_failure_count == 3
    allowed, details = device.verify_is_allowed()
    assert not allowed and details["locked_until"] >= timezone.now() + timedelta(seconds=3)
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert client.post(VERIFY, {"token": device_token(device)}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0
