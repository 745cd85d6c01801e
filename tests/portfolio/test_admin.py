from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from portfolio.crypto import decrypt_credentials
from portfolio.models import ExchangeAccount, HoldingLock, OffExchangeSettlement, SyncRound
from portfolio.services import set_exchange_credentials
from riskmodels.models import Limit, RiskPolicy
from tests.conftest import login
from tests.factories import (
    AlertFactory,
    CounterpartyFactory,
    ExchangeAccountFactory,
    ExposureFactory,
    HoldingFactory,
    PriceFactory,
    StressShockFactory,
    SyncRunFactory,
    held_drop,
)

SECRET = {"apiKey": "visible-nowhere-key", "secret": "visible-nowhere-secret"}
APP_LABELS = {"accounts", "portfolio", "riskmodels"}


def _our_models() -> list:
    return [model for model in admin.site._registry if model._meta.app_label in APP_LABELS]


def test_every_model_of_ours_is_in_the_admin():
    from django.apps import apps

    from riskmodels.models import PendingChange

    ours = {m for label in APP_LABELS for m in apps.get_app_config(label).get_models()}
    # Pending changes are the report's own bookkeeping: shown on the report, never edited.
    assert ours - {PendingChange} == set(_our_models())


@pytest.fixture
def filled(tenants):
    holding = HoldingFactory.create(snapshot__location__portfolio=tenants.fund_a)
    HoldingLock.objects.create(
        snapshot=holding.snapshot,
        asset=holding.asset,
        product=holding.product,
        amount=holding.amount,
        unlocks_at=timezone.now(),
    )
    PriceFactory.create()
    sync_round = SyncRound.objects.create(
        portfolio=tenants.fund_a, started_at=timezone.now(), location_count=1
    )
    SyncRunFactory.create(location__portfolio=tenants.fund_a, sync_round=sync_round)
    StressShockFactory.create()
    ExposureFactory.create(portfolio=tenants.fund_a)
    AlertFactory.create(portfolio=tenants.fund_a)
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A overrides")
    Limit.objects.create(policy=policy, rule="group", rating_tier="A", warn="0.2", breach="0.25")
    account = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    set_exchange_credentials(account=account, credentials=SECRET)
    OffExchangeSettlement.objects.create(
        account=account,
        network="clearloop",
        custodian=CounterpartyFactory.create(slug="copper", kind="custodian"),
        interval_hours=24,
        settled_at=timezone.now(),
    )
    held_drop(account.location)
    _api_objects(tenants)
    return tenants


def _api_objects(tenants) -> None:
    """One of each API model (accounts.api, riskmodels.webhooks), for the pages below."""
    from accounts.api.tokens import create_api_token
    from riskmodels.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

    create_api_token(actor=tenants.ada, owner=tenants.bob, name="script")
    endpoint = WebhookEndpoint.objects.create(
        portfolio=tenants.fund_a, url="https://example.com/hook", secret_encrypted="x"
    )
    event = WebhookEvent.objects.create(
        uuid="00000000-0000-0000-0000-000000000001",
        portfolio=tenants.fund_a,
        type="alert.opened",
        payload={},
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, attempt=1, status_code=200, delivered_at=timezone.now()
    )


@pytest.mark.parametrize("page", ["changelist", "add"])
def test_admin_pages_of_every_model_render(filled, page):
    client = login(filled.ada)
    for model in _our_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}")
        response = client.get(url)
        addable = admin.site._registry[model].has_add_permission(response.wsgi_request)
        expected = 403 if page == "add" and not addable else 200
        assert response.status_code == expected, url


def test_admin_change_pages_render_and_never_show_credentials(filled):
    client = login(filled.ada)
    account = ExchangeAccount.objects.get()
    for model in _our_models():
        obj = model.objects.first()
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
        )
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for secret in (*SECRET.values(), account.credentials_encrypted):
            assert secret not in page, url


def _post_account(client, account: ExchangeAccount, **fields: str):
    url = reverse("admin:portfolio_exchangeaccount_change", args=[account.pk])
    data = {"location": account.pk, "exchange_id": "binance", "wallets": '["spot"]'}
    return client.post(url, {**data, "api_key": "", "secret": "", "password": "", **fields})


def test_admin_sets_new_credentials_write_only(filled):
    account = ExchangeAccount.objects.get()
    response = _post_account(login(filled.ada), account, api_key="k2", secret="s2")
    assert response.status_code == 302
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted) == {"apiKey": "k2", "secret": "s2"}


def test_admin_leaves_credentials_alone_when_fields_are_empty(filled):
    account = ExchangeAccount.objects.get()
    assert _post_account(login(filled.ada), account).status_code == 302
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted) == SECRET


def test_sync_history_is_read_only_in_the_admin(filled):
    run = SyncRunFactory.create(location__portfolio=filled.fund_a, outcome="failed")
    client = login(filled.ada)
    assert client.get(reverse("admin:portfolio_syncrun_changelist")).status_code == 200
    assert client.get(reverse("admin:portfolio_syncrun_add")).status_code == 403
    change_url = reverse("admin:portfolio_syncrun_change", args=[run.pk])
    assert client.post(change_url, {"outcome": "running"}).status_code == 403
    delete_url = reverse("admin:portfolio_syncrun_delete", args=[run.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:portfolio_syncround_add")).status_code == 403
    run.refresh_from_db()
    assert run.outcome == "failed"
