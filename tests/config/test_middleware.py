"""Requests with NUL characters are refused before any view (config.middleware)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/portfolios/fund-a/?x=%00", None),
        ("/admin/accounts/accessgrant/add/?portfolio=%00", None),
        ("/accounts/login/", {"username": "alice\x00", "password": "x"}),
    ],
)
def test_a_nul_character_is_a_400(tenants, url, data):
    client = login(tenants.ada)
    response = client.post(url, data) if data else client.get(url)
    assert response.status_code == 400
    assert b"NUL characters are not accepted" in response.content


def test_json_bodies_are_left_to_the_api(tenants):
    response = login(tenants.alice).post(
        reverse("api:alert-acknowledge", args=[1]), '{"reason": "a"}', "application/json"
    )
    assert response.status_code == 404  # reached the view: no such alert
