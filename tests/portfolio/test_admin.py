from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from portfolio.crypto import decrypt_credentials
from portfolio.models import (
    ExchangeAccount,
    Holding,
    HoldingLock,
    HoldingSnapshot,
    OffExchangeSettlement,
    Price,
    SyncRound,
)
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


# What an admin needs, and nothing else (issue 15): people and access, the registry, portfolios
# and their locations, holdings history and prices (read-only), policies and their history,
# exposures and alerts (read-only), stress scenarios, tokens and webhook endpoints; of the
# third-party apps, the beat schedule, 2FA devices and lockouts.
KEPT = {
    "accounts.User",
    "accounts.AccessGrant",
    "accounts.InvestorStake",
    "accounts.AuditEvent",
    "accounts.ApiToken",
    "portfolio.Counterparty",
    "portfolio.Asset",
    "portfolio.Portfolio",
    "portfolio.CustodyLocation",
    "portfolio.ExchangeAccount",
    "portfolio.HoldingSnapshot",
    "portfolio.Holding",
    "portfolio.Price",
    "riskmodels.RiskPolicy",
    "riskmodels.PolicyChange",
    "riskmodels.ExposureSnapshot",
    "riskmodels.Alert",
    "riskmodels.StressScenario",
    "riskmodels.WebhookEndpoint",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.IntervalSchedule",
    "otp_totp.TOTPDevice",
    "axes.AccessAttempt",
}
READ_ONLY = {
    "accounts.AuditEvent",
    "portfolio.HoldingSnapshot",
    "portfolio.Holding",
    "portfolio.Price",
    "riskmodels.RiskPolicy",
    "riskmodels.PolicyChange",
    "riskmodels.ExposureSnapshot",
    "riskmodels.Alert",
    "riskmodels.WebhookEndpoint",
}


def test_admin_lists_only_what_admins_need():
    assert {model._meta.label for model in admin.site._registry} == KEPT


@pytest.mark.parametrize("label", sorted(READ_ONLY))
def test_history_and_evidence_are_read_only_in_the_admin(rf, tenants, label):
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label == label)
    request = rf.get("/admin/")
    request.user = tenants.ada
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_change_permission(request)


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


def test_sync_internals_are_not_in_the_admin(filled):
    client = login(filled.ada)
    for name in ("syncrun", "syncround", "unconfirmeddrop", "holdinglock"):
        assert client.get(f"/admin/portfolio/{name}/").status_code == 404, name


def test_admin_cannot_change_or_delete_a_holding(filled):
    holding = Holding.objects.get()
    client = login(filled.ada)
    change_url = reverse("admin:portfolio_holding_change", args=[holding.pk])
    data = {"snapshot": holding.snapshot_id, "asset": holding.asset_id, "amount": "999"}
    assert client.post(change_url, {**data, "product": holding.product}).status_code == 403
    delete_url = reverse("admin:portfolio_holding_delete", args=[holding.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:portfolio_holding_add")).status_code == 403
    assert Holding.objects.get() == holding and Holding.objects.get().amount == holding.amount


def test_admin_cannot_change_a_snapshot_or_a_price(filled):
    client = login(filled.ada)
    snapshot = HoldingSnapshot.objects.get()
    url = reverse("admin:portfolio_holdingsnapshot_change", args=[snapshot.pk])
    assert client.post(url, {"source": "manual"}).status_code == 403
    price = Price.objects.first()
    url = reverse("admin:portfolio_price_change", args=[price.pk])
    assert client.post(url, {"price_usd": "1"}).status_code == 403
    price_after = Price.objects.get(pk=price.pk)
    assert price_after.price_usd == price.price_usd
    delete = reverse("admin:portfolio_price_delete", args=[price.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
