"""Personal API tokens: hashed, shown once, revocable, audited, and the two-factor rule."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api.tokens import create_api_token, revoke_api_token
from accounts.models import ApiToken, AuditAction, AuditEvent
from tests.conftest import login


def client_with(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def portfolios(client):
    return client.get(reverse("api:portfolio-list"))


def test_only_a_digest_of_the_token_is_stored(tenants):
    new = create_api_token(actor=tenants.alice, owner=tenants.alice, name="script")
    row = ApiToken.objects.get(pk=new.token.pk)
    assert row.digest == hashlib.sha256(new.raw.encode()).hexdigest()
    assert row.prefix == new.raw[:10] and new.raw.startswith("cw_")
    stored = [str(value) for value in ApiToken.objects.filter(pk=row.pk).values().get().values()]
    assert new.raw not in stored


def test_a_token_authenticates_and_notes_its_last_use(tenants):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    assert new.token.last_used_at is None
    assert portfolios(client_with(new.raw)).status_code == 200
    new.token.refresh_from_db()
    assert timezone.now() - new.token.last_used_at < timedelta(seconds=5)


def test_last_use_is_written_at_most_once_a_minute(tenants, django_assert_num_queries):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    client = client_with(new.raw)
    portfolios(client)
    first = ApiToken.objects.get(pk=new.token.pk).last_used_at
    portfolios(client)
    assert ApiToken.objects.get(pk=new.token.pk).last_used_at == first


@pytest.mark.parametrize("raw", ["cw_wrong", "not-even-a-token", ""])
def test_a_wrong_token_is_401(tenants, raw):
    assert portfolios(client_with(raw)).status_code == 401


def test_a_revoked_token_is_401(tenants):
    new = create_api_token(actor=tenants.alice, owner=tenants.alice, name="script")
    revoke_api_token(actor=tenants.alice, token=new.token)
    assert portfolios(client_with(new.raw)).status_code == 401


def test_an_inactive_users_token_is_401(tenants):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    tenants.bob.is_active = False
    tenants.bob.save()
    assert portfolios(client_with(new.raw)).status_code == 401


def test_creation_and_revocation_are_audited_without_the_token(tenants):
    new = create_api_token(actor=tenants.ada, owner=tenants.bob, name="for bob")
    revoke_api_token(actor=tenants.bob, token=new.token)
    revoke_api_token(actor=tenants.bob, token=new.token)  # twice: recorded once
    events = list(AuditEvent.objects.order_by("pk"))
    assert [(e.action, e.actor) for e in events] == [
        (AuditAction.API_TOKEN_CREATED, tenants.ada),
        (AuditAction.API_TOKEN_REVOKED, tenants.bob),
    ]
    assert all(new.raw not in str(e.changes) + e.target for e in events)


def test_users_cannot_make_or_revoke_each_others_tokens(tenants):
    with pytest.raises(PermissionDenied):
        create_api_token(actor=tenants.alice, owner=tenants.bob, name="x")
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="x")
    with pytest.raises(PermissionDenied):
        revoke_api_token(actor=tenants.alice, token=new.token)


def test_the_token_page_shows_a_new_token_once(tenants):
    client = login(tenants.bob)
    response = client.post(reverse("api:tokens"), {"name": "my script"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=tenants.bob)
    raw = response.context["created"].raw
    assert raw.encode() in response.content and token.prefix in raw
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    again = client.get(reverse("api:tokens"))
    assert raw.encode() not in again.content and token.prefix.encode() in again.content
    assert portfolios(client_with(raw)).status_code == 200


def test_the_token_page_revokes_only_the_users_own_tokens(tenants):
    mine = create_api_token(actor=tenants.bob, owner=tenants.bob, name="mine")
    theirs = create_api_token(actor=tenants.dora, owner=tenants.dora, name="theirs")
    client = login(tenants.bob)
    revoke = lambda t: client.post(reverse("api:revoke_token", kwargs={"pk": t.token.pk}))  # noqa: E731
    assert revoke(theirs).status_code == 404
    assert revoke(mine).status_code == 302
    assert ApiToken.objects.get(pk=mine.token.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None


def test_the_token_page_needs_a_login(db):
    response = APIClient().get(reverse("api:tokens"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_token_page_needs_two_factor_for_managers(tenants):
    from django.test import Client
    from django.test.client import RequestFactory

    from tests.factories import PASSWORD

    client = Client()
    request = RequestFactory().post(reverse("accounts:login"))
    assert client.login(request=request, username="alice", password=PASSWORD)
    response = client.get(reverse("api:tokens"))
    assert response.status_code == 302 and "two-factor" in response["Location"]


def test_a_bearer_token_is_not_sent_to_two_factor(tenants):
    # alice is a manager without a verified session: the token alone is her credential here.
    new = create_api_token(actor=tenants.alice, owner=tenants.alice, name="script")
    assert portfolios(client_with(new.raw)).status_code == 200


def test_a_bearer_header_does_not_skip_two_factor_on_pages(tenants):
    """A session that owes a code gains nothing by adding a bearer header to a page request."""
    from django.test import Client
    from django.test.client import RequestFactory

    from tests.factories import PASSWORD

    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {new.raw}")
    request = RequestFactory().post(reverse("accounts:login"))
    assert client.login(request=request, username="alice", password=PASSWORD)
    response = client.get(reverse("api:tokens"))
    assert response.status_code == 302 and "two-factor" in response["Location"]


def test_admin_creates_a_token_for_a_user_and_sees_it_once(tenants):
    client = login(tenants.ada)
    url = reverse("admin:accounts_apitoken_add")
    response = client.post(url, {"user": tenants.bob.pk, "name": "from admin"})
    assert response.status_code == 200
    raw = response.context["created"].raw
    assert raw.encode() in response.content
    token = ApiToken.objects.get(user=tenants.bob)
    assert token.created_by == tenants.ada
    assert portfolios(client_with(raw)).status_code == 200
    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert raw.encode() not in listing.content


def test_admin_revokes_tokens_with_the_list_action(tenants):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="x")
    client = login(tenants.ada)
    response = client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [new.token.pk]},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=new.token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(
        action=AuditAction.API_TOKEN_REVOKED, actor=tenants.ada
    ).exists()


def test_a_bearer_header_does_not_skip_two_factor_on_the_docs_page(tenants):
    from django.test import Client
    from django.test.client import RequestFactory

    from tests.factories import PASSWORD

    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {new.raw}")
    request = RequestFactory().post(reverse("accounts:login"))
    assert client.login(request=request, username="alice", password=PASSWORD)
    response = client.get(reverse("api:docs"))
    assert response.status_code == 302 and "two-factor" in response["Location"]


def test_a_new_password_revokes_the_users_tokens_audited(tenants):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    other = create_api_token(actor=tenants.dora, owner=tenants.dora, name="other")
    tenants.bob.set_password("a-new-long-password-9")
    tenants.bob.save()
    assert portfolios(client_with(new.raw)).status_code == 401
    assert portfolios(client_with(other.raw)).status_code == 200  # only the user's own
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_REVOKED)
    assert event.actor is None and event.changes["reason"] == [None, "password changed"]


def test_saving_a_user_without_a_new_password_keeps_the_tokens(tenants):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    tenants.bob.first_name = "Robert"
    tenants.bob.save()
    assert portfolios(client_with(new.raw)).status_code == 200


@pytest.mark.parametrize(("keep", "status"), [(False, 401), (True, 200)])
def test_an_admin_setting_a_password_may_keep_the_tokens(tenants, keep, status):
    new = create_api_token(actor=tenants.bob, owner=tenants.bob, name="script")
    client = login(tenants.ada)
    url = reverse("admin:auth_user_password_change", args=[tenants.bob.pk])
    assert "Keep this user&#x27;s API tokens" in client.get(url).content.decode()
    form = {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"}
    response = client.post(url, form | ({"keep_api_tokens": "on"} if keep else {}))
    assert response.status_code == 302
    assert portfolios(client_with(new.raw)).status_code == status
