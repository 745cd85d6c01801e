"""HTX's parsers on their own: account types to wallets, balance types, contract numbers, the
key's permission, error bodies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from portfolio.exchanges import build_client, htx
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, distinct_rows, merge

D = Decimal
LISTED = {
    "status": "ok",
    "data": [
        {"id": 1, "type": "spot", "state": "working"},
        {"id": 2, "type": "margin", "subtype": "btcusdt", "state": "working"},
        {"id": 3, "type": "super-margin", "state": "working"},
        {"id": 4, "type": "otc", "state": "working"},
        {"id": 5, "type": "point", "state": "working"},
        {"id": 6, "type": "deposit-earning", "state": "working"},
    ],
}


def parsed(parse: Parser, *bodies: dict[str, Any]) -> tuple[FetchedBalance, ...]:
    pages = [Page(body, json.dumps(body)) for body in bodies]
    return merge(distinct_rows(build_client("htx"), parse, pages))


def account(number: int, *rows: tuple[str, str, str]) -> dict[str, Any]:
    listed = [{"currency": c, "type": t, "balance": b} for c, t, b in rows]
    return {"status": "ok", "data": {"id": number, "type": "x", "list": listed}}


@pytest.mark.parametrize(
    ("wallet", "ids"),
    [("spot", ["1"]), ("margin", ["2", "3"]), ("funding", ["4"]), ("earn", ["6"])],
)
def test_each_wallet_asks_for_its_own_account_types(wallet: str, ids: list[str]):
    assert htx.accounts_of(wallet)(LISTED) == [{"account-id": i} for i in ids]


def test_an_account_type_htx_does_not_document_is_malformed():
    listed = {"status": "ok", "data": [{"id": 9, "type": "new-product"}]}
    with pytest.raises(MalformedAnswer, match="account type 'new-product'"):
        htx.accounts_of("spot")(listed)


def test_margin_accounts_sum_held_less_loans_and_interest_across_accounts():
    isolated = account(2, ("btc", "trade", "1"), ("btc", "loan", "-0.4"), ("usdt", "frozen", "5"))
    cross = account(
        3,
        ("btc", "trade", "0.5"),
        ("btc", "interest", "-0.001"),
        ("btc", "loan-available", "8"),
        ("btc", "transfer-out-available", "0.3"),
    )
    found = parsed(htx.account_balance("margin"), isolated, cross)
    assert {(b.code, b.amount) for b in found} == {("BTC", D("1.099")), ("USDT", D("5"))}
    assert {b.product for b in found} == {"margin"}


def test_the_same_row_of_two_accounts_is_two_rows_and_a_repeat_is_one():
    spot = account(1, ("usdt", "trade", "10"), ("usdt", "trade", "10"))
    other = account(7, ("usdt", "trade", "10"))
    (usdt,) = parsed(htx.account_balance("spot"), spot, other)
    assert usdt.amount == D("20")


def test_a_repeated_row_with_another_amount_is_malformed():
    spot = account(1, ("usdt", "trade", "10"), ("usdt", "trade", "11"))
    with pytest.raises(MalformedAnswer, match="appears twice with different amounts"):
        parsed(htx.account_balance("spot"), spot)


@pytest.mark.parametrize(
    ("wallet", "row", "words"),
    [
        ("spot", ("usdt", "loan", "-1"), "negative where the exchange reports no debt"),
        ("margin", ("usdt", "loan", "1"), "a debt above zero"),
        ("spot", ("usdt", "mystery", "1"), "balance type 'mystery'"),
    ],
)
def test_balance_rows_that_cannot_be_right_are_refused(wallet: str, row: Any, words: str):
    with pytest.raises(MalformedAnswer, match=words):
        parsed(htx.account_balance(wallet), account(1, row))


def test_coin_margined_rows_are_the_numbers_as_written_split_into_static_and_pnl():
    raw = (
        '{"status":"ok","data":[{"symbol":"BTC","margin_balance":0.123456789012345678,'
        '"margin_static":0.123456789012345,"profit_unreal":0.000000000000000678}]}'
    )
    page = Page(json.loads(raw), raw)
    rows = list(htx.coin_margined("swap")(build_client("htx"), page))
    assert [(r.row_id, r.balance.amount) for r in rows] == [
        ("swap BTC", D("0.123456789012345")),
        ("swap BTC profit_unreal", D("0.000000000000000678")),
    ]
    assert sum(r.balance.amount for r in rows) == D("0.123456789012345678")


def test_linear_equity_without_profit_unreal_is_booked_whole():
    body = {"code": 200, "data": {"details": [{"currency": "USDT", "equity": "12.5"}]}}
    page = Page(body, json.dumps(body))
    rows = list(htx.linear(build_client("htx"), page))
    assert [r.balance.amount for r in rows] == [D("12.5"), D("0")]


@pytest.mark.parametrize(
    ("granted", "flags"),
    [
        ("readOnly", (True, False, False)),
        ("readOnly,trade", (True, True, False)),
        ("readOnly,trade,withdraw", (True, True, True)),
    ],
)
def test_permission_says_trade_and_withdraw(granted: str, flags: tuple[bool, bool, bool]):
    found = htx.permissions({"code": 200, "data": [{"accessKey": "k", "permission": granted}]})
    assert (found["read"], found["trade"], found["withdraw"]) == flags


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "data": []},
        {"code": 200, "data": [{"permission": "readOnly"}, {"permission": "trade"}]},
        {"code": 200, "data": [{"permission": ""}]},
        {"code": 200},
    ],
)
def test_unreadable_permission_leaves_it_unknown(body: dict[str, Any]):
    with pytest.raises((PermissionsUnreadable, Malformed)):
        htx.permissions(body)


def test_tickers_prices_are_read_as_written():
    body = '{"status":"ok","data":[{"symbol":"trxusdt","close":0.123456789012345678}]}'
    assert htx.raw_quotes(body) == {"trxusdt": "0.123456789012345678"}


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"status": "ok", "data": []}, None),
        ({"code": 200, "data": 1}, None),
        ({"status": "error", "err-code": "base-system-error", "err-msg": "x"}, "maintenance"),
        ({"status": "error", "err_code": 1004, "err_msg": "busy"}, "maintenance"),
        ({"status": "error", "err_code": 1032, "err_msg": "limit"}, "rate_limit"),
        ({"status": "error", "err-code": "x", "err-msg": "System maintain"}, "maintenance"),
        ({"status": "error", "err-code": "x", "err-msg": "Timestamp expired"}, "clock"),
        # ccxt's own table reads these: a wrong key is AuthenticationError there.
        ({"status": "error", "err-code": "api-signature-not-valid", "err-msg": "key"}, None),
        ({"code": 1003, "message": "invalid signature"}, None),
    ],
)
def test_error_bodies_name_their_kind(document: dict[str, Any], kind: str | None):
    assert htx.body_error_kind(document) == kind
