"""MEXC's parsers on their own: the contract API's numbers, the key's scopes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from portfolio.exchanges import build_client, mexc
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import FetchedBalance, Page, distinct_rows, merge

D = Decimal


def futures_of(raw: str) -> tuple[FetchedBalance, ...]:
    page = Page(json.loads(raw), raw)  # what ccxt parsed (floats), and the body as sent
    return merge(distinct_rows(build_client("mexc"), mexc.futures, [page]))


def test_futures_amounts_are_the_numbers_as_written_not_floats():
    raw = (
        '{"success":true,"code":0,"data":[{"currency":"USDT","equity":2650.123456789012345678,'
        '"unrealized":0.1,"cashBalance":2650.023456789012345678}]}'
    )
    (usdt,) = futures_of(raw)
    assert (usdt.code, usdt.product, usdt.amount) == (
        "USDT",
        "futures",
        D("2650.123456789012345678"),
    )
    # What ccxt parsed has lost the last digits.
    assert D(str(json.loads(raw)["data"][0]["equity"])) != usdt.amount


def test_futures_split_is_wallet_and_pnl_that_add_to_the_equity():
    raw = '{"success":true,"code":0,"data":[{"currency":"BTC","equity":0.385,"unrealized":-0.015}]}'
    page = Page(json.loads(raw), raw)
    rows = list(mexc.futures(build_client("mexc"), page))
    assert [(r.row_id, r.balance.amount) for r in rows] == [
        ("BTC", D("0.4")),
        ("BTC unrealized", D("-0.015")),
    ]


def test_futures_without_unrealized_is_the_equity_whole():
    raw = '{"success":true,"code":0,"data":[{"currency":"USDT","equity":"12.5"}]}'
    assert [b.amount for b in futures_of(raw)] == [D("12.5")]


def test_futures_without_equity_is_malformed():
    raw = '{"success":true,"code":0,"data":[{"currency":"USDT","unrealized":1}]}'
    with pytest.raises(Malformed, match="row without equity"):
        futures_of(raw)


def test_futures_equity_beyond_any_holding_is_refused():
    raw = '{"success":true,"code":0,"data":[{"currency":"USDT","equity":1e30,"unrealized":0}]}'
    with pytest.raises(MalformedAnswer, match="beyond any real holding"):
        futures_of(raw)


SCOPES_READ = "SPOT_ACCOUNT_READ,SPOT_DEAL_READ,CONTRACT_ACCOUNT_READ,CONTRACT_DEAL_READ"


@pytest.mark.parametrize(
    ("scopes", "flags"),
    [
        (SCOPES_READ, (True, False, False)),
        (SCOPES_READ + ",SPOT_DEAL_WRITE", (True, True, False)),
        (SCOPES_READ + ",CONTRACT_DEAL_WRITE", (True, True, False)),
        # A transfer between one's own accounts is not a withdrawal; SPOT_WITHDRAW_WRITE is.
        (SCOPES_READ + ",SPOT_TRANSFER_WRITE", (True, False, False)),
        (SCOPES_READ + ", spot_withdraw_write", (True, False, True)),
        ("SPOT_DEAL_WRITE", (False, True, False)),
    ],
)
def test_key_scopes_say_trade_and_withdraw(scopes: str, flags: tuple[bool, bool, bool]):
    found = mexc.permissions({"accessKey": "k", "permissions": scopes, "status": "VALID"})
    assert (found["read"], found["trade"], found["withdraw"]) == flags


@pytest.mark.parametrize("body", [{}, {"permissions": ""}, {"permissions": ["SPOT"]}, []])
def test_unreadable_scopes_leave_the_permissions_unknown(body: Any):
    with pytest.raises((PermissionsUnreadable, Malformed)):
        mexc.permissions(body)


def test_the_key_asked_about_is_the_clients_own():
    client = build_client("mexc", {"apiKey": "mx0-key", "secret": "s"})
    assert mexc.key_asked_about(client) == {"accessKey": "mx0-key"}
