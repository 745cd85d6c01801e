"""Failed logins lock a username from any address (django-axes), except to its owner with an
authenticator code (accounts.signin); wrong TOTP codes slow down; a trusted proxy names the
client (accounts.client_address)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
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


def _fail_five_times(client: Client, username: str, spread: bool = False) -> None:
    """Five wrong passwords, each from its own address when `spread`."""
    for n in range(4):
        address = f"198.51.100.{n + 1}" if spread else "127.0.0.1"
        assert _attempt(client, username, "wrong", address).status_code == 200
    assert _attempt(client, username, "wrong").status_code == 429  # the fifth locks at once


def test_five_wrong_passwords_lock_the_username(tenants):
    client = Client()
    _fail_five_times(client, "alice")
    response = _attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins for this username" in page
    assert "refused for 15 minutes" in page
    assert '<form class="login card"' in page  # still the login page
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_from_any_address(tenants):
    _fail_five_times(Client(), "alice", spread=True)
    assert _attempt(Client(), "alice", PASSWORD, address="10.0.0.2").status_code == 429
    assert _attempt(Client(), "charlie", PASSWORD).status_code == 302


def _with_code(username: str, password: str, token: str) -> tuple[Client, Any]:
    client = Client()
    form = {"username": username, "password": password, "token": token}
    return client, client.post(LOGIN, form, REMOTE_ADDR="203.0.113.9")


def test_a_locked_owner_signs_in_with_password_and_code(tenants):
    device = confirmed_device(tenants.alice)
    _fail_five_times(Client(), "alice", spread=True)
    client, response = _with_code("alice", PASSWORD, device_token(device))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200  # verified: no code page again
    assert not AccessAttempt.objects.filter(username="alice").exists()  # the lock is lifted


def test_a_locked_username_never_says_which_of_password_and_code_was_wrong(tenants):
    device = confirmed_device(tenants.alice)
    _fail_five_times(Client(), "alice", spread=True)
    wrong_code = f"{(int(device_token(device)) + 1) % 1_000_000:06d}"
    _, bad_code = _with_code("alice", PASSWORD, wrong_code)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    client, bad_password = _with_code("alice", "wrong", device_token(device))
    assert bad_code.status_code == bad_password.status_code == 429
    assert "Too many failed" in bad_code.content.decode()
    assert _errors(bad_code) == _errors(bad_password)
    assert "_auth_user_id" not in client.session


def _errors(response: Any) -> str:
    return response.content.decode().split('<ul class="errorlist', 1)[1].split("</ul>", 1)[0]


def test_a_locked_user_without_an_authenticator_waits(tenants):
    _fail_five_times(Client(), "bob", spread=True)  # an investor without two-factor
    _, response = _with_code("bob", PASSWORD, "123456")
    assert response.status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _attempt(Client(), "bob", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("10.0.0.1", "203.0.113.7", ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.1", "1.2.3.4, 203.0.113.7, 10.0.0.9", ["10.0.0.0/8"], "203.0.113.7"),
        ("198.51.100.5", "203.0.113.7", ["10.0.0.0/8"], "198.51.100.5"),  # not a proxy
        ("10.0.0.1", "203.0.113.7", [], "10.0.0.1"),  # no proxy trusted
        ("10.0.0.1", "not-an-address", ["10.0.0.0/8"], "10.0.0.1"),
    ],
)
def test_the_client_address_comes_from_a_trusted_proxy_only(
    tenants, settings, peer, forwarded, trusted, client
):
    settings.TRUSTED_PROXIES = trusted
    Client().post(
        LOGIN,
        {"username": "alice", "password": "wrong"},
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert AccessAttempt.objects.get(username="alice").ip_address == client


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
