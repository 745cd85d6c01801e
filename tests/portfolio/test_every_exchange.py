"""Every exchange in ccxt: its client builds and points only at the emulator, and the account
form asks exactly the credentials it requires (ccxt's requiredCredentials), labelled in words."""

from __future__ import annotations

import re

import ccxt
import pytest
from django.urls import reverse

from portfolio import crypto, exchanges
from portfolio.account_forms import CREDENTIAL_FIELDS, CREDENTIALS, needed_fields
from portfolio.exchanges.emulator import leftover_https
from tests.conftest import login

EMULATOR = "http://127.0.0.1:9"
LABELS = {field_name: label for _, field_name, label in CREDENTIALS}
INPUT = re.compile(r'<input type="password" name="([a-z_]+)"')


@pytest.mark.parametrize("exchange_id", ccxt.exchanges)
def test_client_builds_and_every_url_points_at_the_emulator(exchange_id):
    client = exchanges.build_client(exchange_id, emulator_url=EMULATOR)
    assert leftover_https(client.urls["api"]) == []
    assert "https://" not in repr(client.urls["api"])
    if exchanges.reader(exchange_id) == "generic":
        assert exchanges.display_name(exchange_id) == getattr(ccxt, exchange_id)().name


@pytest.mark.parametrize("exchange_id", ccxt.exchanges)
def test_add_form_asks_exactly_that_exchanges_credentials(tenants, exchange_id):
    url = reverse("sources:add_exchange_account", args=["fund-a"])
    page = login(tenants.alice).get(url, {"exchange": exchange_id})
    assert page.status_code == 200
    html = page.content.decode()
    required = {k for k, v in getattr(ccxt, exchange_id)().requiredCredentials.items() if v}
    adapter = exchanges.ADAPTERS.get(exchange_id)
    if adapter is not None and adapter.credentials is not None:  # fewer: an address alone
        required = set(adapter.credentials)
    wanted = tuple(field for name, field, _ in CREDENTIALS if name in required)
    assert tuple(INPUT.findall(html)) == wanted == needed_fields(exchange_id)
    for field_name in wanted:
        assert f'<label for="id_{field_name}">{LABELS[field_name]}:</label>' in html


def test_every_credential_ccxt_names_has_a_field_and_is_passed_to_the_client():
    named = {
        name
        for exchange_id in ccxt.exchanges
        for name, required in getattr(ccxt, exchange_id)().requiredCredentials.items()
        if required
    }
    assert named <= {name for name, _, _ in CREDENTIALS}
    assert {name for name, _, _ in CREDENTIALS} == set(exchanges.CREDENTIAL_KEYS)
    assert crypto.CREDENTIAL_FIELDS == exchanges.CREDENTIAL_KEYS
    assert len(CREDENTIAL_FIELDS) == len(set(CREDENTIAL_FIELDS))
