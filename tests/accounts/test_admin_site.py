"""The Django admin is an OTPAdminSite behind the site's own login."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from tests.accounts.test_two_factor import SETUP, confirmed_device, password_only
from tests.conftest import login
from tests.processes import device_token


def test_default_admin_site_requires_otp(tenants):
    assert isinstance(admin.site, OTPAdminSite)
    request = RequestFactory().get("/admin/")
    request.user = tenants.ada
    request.user.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    request.user.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_admin_with_password_only_is_sent_to_two_factor(tenants):
    response = password_only(tenants.ada).get(reverse("admin:index"))
    assert response.url.startswith(SETUP)


def test_admin_reaches_the_admin_after_verifying(tenants):
    device = confirmed_device(tenants.ada)
    client = password_only(tenants.ada)
    client.post(reverse("accounts:two_factor_verify"), {"token": device_token(device)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_verified_admin_reaches_the_admin(tenants):
    assert login(tenants.ada).get(reverse("admin:index")).status_code == 200


def test_anonymous_admin_login_is_the_site_login(db):
    response = Client().get(reverse("admin:index"), follow=True)
    login_url = reverse("accounts:login")
    assert response.redirect_chain[-1][0] == f"{login_url}?next={reverse('admin:index')}"


def test_verified_manager_is_not_let_into_the_admin(tenants):
    client = login(tenants.alice)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")


def test_admin_login_page_never_shows_its_own_form(db):
    request = RequestFactory().get("/admin/login/")
    request.user = AnonymousUser()
    assert admin.site.login(request).status_code == 302


def test_admin_never_shows_a_users_totp_secret(tenants):
    device = confirmed_device(tenants.alice)
    client = login(tenants.ada)
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert device.key not in response.content.decode()
    config = reverse("admin:otp_totp_totpdevice_config", args=[device.pk])
    assert client.get(config).status_code != 200


def test_internal_third_party_tables_are_not_in_the_admin(tenants):
    from accounts.admin_site import INTERNAL_MODELS

    registered = {model._meta.label for model in admin.site._registry}
    assert not registered & set(INTERNAL_MODELS)
    # What admins use: 2FA devices (reset a lost phone), lockouts, the beat schedule.
    assert {"otp_totp.TOTPDevice", "axes.AccessAttempt", "django_celery_beat.PeriodicTask"} <= (
        registered
    )
    assert login(tenants.ada).get("/admin/auth/group/").status_code == 404
