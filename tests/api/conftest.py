"""The API's tenants: DESIGN's worked check in both funds, an exposure report each, and
bearer-token clients per user."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from accounts.api.tokens import create_api_token
from riskmodels.models import ExposureSnapshot
from tests.factories import computed_exposure, worked_check


@dataclass
class World:
    tenants: object
    exposure_a: ExposureSnapshot
    exposure_b: ExposureSnapshot
    locations_a: dict
    locations_b: dict


def bearer(user, name="tests") -> APIClient:
    """A client that sends a fresh token of `user` and no session."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_token(actor=user, owner=user, name=name).raw}"
    )
    return client


@pytest.fixture
def world(tenants) -> World:
    locations_a = worked_check(tenants.fund_a)
    locations_b = worked_check(tenants.fund_b)
    return World(
        tenants=tenants,
        exposure_a=computed_exposure(tenants.fund_a),
        exposure_b=computed_exposure(tenants.fund_b),
        locations_a=locations_a,
        locations_b=locations_b,
    )
