"""Credentials never survive in an error message, however an exchange echoes them."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from portfolio.exchanges import scrub

KEY = "AbCdEfGh1234ijklMNOP"
SECRET = "s3cr3t/with+slash=="
ESCAPED = json.dumps(SECRET)[1:-1].replace("/", "\\/")  # as JSON encoders that escape "/" write it


@pytest.mark.parametrize(
    "echo",
    [
        f"invalid key {KEY}",
        f"invalid key {KEY.lower()}",
        f"invalid key {KEY.upper()}",
        '{"msg": "bad signature for ' + ESCAPED + '"}',
        f"secret={quote(SECRET, safe='')} rejected",
        f"API key {KEY[:10]}... is not valid",
        f"API key ...{KEY[-9:]} is not valid",
    ],
)
def test_an_echoed_credential_is_hidden(echo):
    scrubbed = scrub(echo, {"apiKey": KEY, "secret": SECRET})
    assert "***" in scrubbed
    lowered = scrubbed.lower()
    for value in (KEY, SECRET):
        assert value[:8].lower() not in lowered and value[-8:].lower() not in lowered


def test_a_few_shared_characters_are_not_a_credential():
    assert scrub("code 1234 ended", {"apiKey": KEY}) == "code 1234 ended"
