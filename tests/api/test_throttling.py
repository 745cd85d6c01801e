"""API rates per token and per user (accounts.api.throttling)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.api.tokens import create_api_token


@pytest.fixture
def rates(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "user": "5/minute"},
    }
    yield
    cache.clear()


def calls(raw: str, times: int) -> list[int]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return [client.get(reverse("api:portfolio-list")).status_code for _ in range(times)]


def test_a_token_is_limited_on_its_own_and_a_user_over_all_tokens(tenants, rates):
    first = create_api_token(actor=tenants.bob, owner=tenants.bob, name="one").raw
    second = create_api_token(actor=tenants.bob, owner=tenants.bob, name="two").raw
    assert calls(first, 4) == [200, 200, 200, 429]  # the token's own rate
    # The user's rate counts every request the user made, the one refused above included.
    assert calls(second, 2) == [200, 429]
    other = create_api_token(actor=tenants.dora, owner=tenants.dora, name="d").raw
    assert calls(other, 1) == [200]  # another user keeps theirs


def test_an_answer_over_the_rate_says_when_to_come_back(tenants, rates):
    raw = create_api_token(actor=tenants.bob, owner=tenants.bob, name="one").raw
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for _ in range(3):
        client.get(reverse("api:portfolio-list"))
    refused = client.get(reverse("api:portfolio-list"))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
