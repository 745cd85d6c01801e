"""TOTP setup and verification with real codes computed from the device's key."""

from __future__ import annotations

from base64 import b32encode

from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import login
from tests.factories import PASSWORD
from tests.processes import device_token

SETUP = reverse("accounts:two_factor_setup")
VERIFY = reverse("accounts:two_factor_verify")


def password_only(user) -> Client:
    """A client past the password step and nothing more, as after the login form."""
    client = Client()
    request = RequestFactory().post(reverse("accounts:login"))
    assert client.login(request=request, username=user.username, password=PASSWORD)
    return client


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_manager_without_device_is_sent_to_setup_after_password(tenants):
    response = Client().post(
        reverse("accounts:login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{SETUP}?next=/"
    assert "Set up two-factor authentication" in response.content.decode()


def test_setup_page_shows_qr_code_svg_and_base32_secret(tenants):
    page = password_only(tenants.ada).get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=tenants.ada, confirmed=False)
    assert b32encode(device.bin_key).decode() in page
    assert '<svg width="' in page and "<img" not in page  # drawn here, fetched from nowhere
    assert "otpauth://" in device.config_url and "issuer=Counterweight" in device.config_url


def test_setup_keeps_one_pending_secret_across_page_loads(tenants):
    client = password_only(tenants.alice)
    client.get(SETUP)
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=tenants.alice).count() == 1


def test_setup_with_valid_token_confirms_device_and_reaches_home(tenants):
    client = password_only(tenants.alice)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=tenants.alice)
    response = client.post(SETUP, {"token": device_token(device), "next": "/"})
    assert response.status_code == 302 and response.url == "/"
    assert TOTPDevice.objects.get(user=tenants.alice).confirmed
    assert "Your portfolios" in client.get(reverse("home")).content.decode()


def test_setup_with_wrong_token_is_refused_and_device_stays_unconfirmed(tenants):
    client = password_only(tenants.alice)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=tenants.alice)
    wrong = f"{(int(device_token(device)) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"token": wrong})
    assert "That code is wrong or has expired." in response.content.decode()
    assert not TOTPDevice.objects.get(user=tenants.alice).confirmed
    assert client.get(reverse("home")).url.startswith(SETUP)


def test_manager_with_device_must_verify_at_login(tenants):
    device = confirmed_device(tenants.alice)
    response = Client().post(
        reverse("accounts:login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{VERIFY}?next=/"
    client = response.client
    assert client.get(reverse("home")).url == f"{VERIFY}?next=/"
    assert client.post(VERIFY, {"token": device_token(device), "next": "/"}).url == "/"
    assert client.get(reverse("home")).status_code == 200


def test_verify_with_wrong_token_is_refused(tenants):
    device = confirmed_device(tenants.charlie)
    client = password_only(tenants.charlie)
    wrong = f"{(int(device_token(device)) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY, {"token": wrong})
    assert response.status_code == 200
    assert "That code is wrong or has expired." in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_a_used_code_is_not_accepted_twice(tenants):
    device = confirmed_device(tenants.alice)
    token = device_token(device)
    assert password_only(tenants.alice).post(VERIFY, {"token": token}).status_code == 302
    replayed = password_only(tenants.alice).post(VERIFY, {"token": token})
    assert replayed.status_code == 200  # refused: the form is shown again


def test_setup_page_cannot_replace_an_existing_device(tenants):
    confirmed_device(tenants.alice)
    client = password_only(tenants.alice)  # a stolen password, say
    assert client.get(SETUP).url == VERIFY
    assert TOTPDevice.objects.filter(user=tenants.alice).count() == 1


def test_verification_starts_a_new_session_key(tenants):
    device = confirmed_device(tenants.alice)
    client = password_only(tenants.alice)
    before = client.session.session_key
    client.post(VERIFY, {"token": device_token(device)})
    assert client.session.session_key != before


def test_next_is_kept_through_verification(tenants):
    device = confirmed_device(tenants.alice)
    client = password_only(tenants.alice)
    target = reverse("portfolio:portfolio_detail", args=["fund-a"])
    assert client.get(target).url == f"{VERIFY}?next={target}"
    assert client.post(VERIFY, {"token": device_token(device), "next": target}).url == target


def test_next_to_another_site_is_ignored(tenants):
    device = confirmed_device(tenants.alice)
    client = password_only(tenants.alice)
    response = client.post(VERIFY, {"token": device_token(device), "next": "https://evil.example/"})
    assert response.url == reverse("home")


def test_investor_without_device_reaches_home_and_is_offered_setup(tenants):
    page = password_only(tenants.bob).get(reverse("home")).content.decode()
    assert "Your holdings" in page
    assert SETUP in page and "Turn on two-factor authentication" in page


def test_investor_can_turn_on_two_factor_and_must_verify_next_login(tenants):
    client = password_only(tenants.bob)
    assert "Optional" in client.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=tenants.bob)
    client.post(SETUP, {"token": device_token(device)})
    assert "Two-factor authentication is on" in client.get(reverse("home")).content.decode()
    later = password_only(tenants.bob)
    assert later.get(reverse("home")).url.startswith(VERIFY)
    later.post(VERIFY, {"token": device_token(device, steps_ahead=1)})
    assert later.get(reverse("home")).status_code == 200


def test_verify_page_sends_users_without_device_home(tenants):
    assert password_only(tenants.dora).get(VERIFY).url == reverse("home")


def test_login_helper_gives_a_verified_session(tenants):
    for user in (tenants.ada, tenants.alice, tenants.bob):
        assert login(user).get(reverse("home")).status_code == 200


def test_each_enrolling_session_gets_its_own_secret(tenants):
    owner, stranger = password_only(tenants.alice), password_only(tenants.alice)
    owner_page = owner.get(SETUP).content.decode()
    stranger_page = stranger.get(SETUP).content.decode()
    owners, strangers = TOTPDevice.objects.filter(user=tenants.alice).order_by("pk")
    owner_secret, stranger_secret = (b32encode(d.bin_key).decode() for d in (owners, strangers))
    assert owner_secret in owner_page and owner_secret not in stranger_page
    assert stranger_secret in stranger_page
    assert owner_secret in owner.get(SETUP).content.decode()  # a reload keeps the scanned one
    # The stranger's code does not confirm the owner's enrolment, and the owner's does.
    assert owner.post(SETUP, {"token": device_token(strangers)}).status_code == 200
    TOTPDevice.objects.filter(pk=owners.pk).update(throttling_failure_timestamp=None)
    assert owner.post(SETUP, {"token": device_token(owners)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=tenants.alice)) == [owners]  # the other dropped
