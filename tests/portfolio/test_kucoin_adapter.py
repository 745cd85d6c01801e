"""KuCoin's parsers on the rules that are easy to get wrong: futures numbers read as the digits
sent, margin net of its liability, lock end dates, the account types each wallet takes, the
earn pages and the key's permissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import kucoin
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import Lock, Page

D = Decimal


@pytest.fixture(scope="module")
def client() -> Any:
    return exchanges.build_client("kucoin")


def page(document: Any) -> Page:
    raw = json.dumps(document) if not isinstance(document, str) else document
    return Page(json.loads(raw), raw)


def amounts(parser: Any, client: Any, document: Any) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for row in parser(client, page(document)):
        key = (row.balance.code, row.balance.product)
        found[key] = found.get(key, D(0)) + row.balance.amount
    return found


def test_futures_numbers_are_read_as_the_digits_sent(client):
    # JSON numbers, as KuCoin's futures API sends them: a float would lose the last digits.
    raw = (
        '{"code":"200000","data":{"accountEquity":1234567.123456789012345678,'
        '"unrealisedPNL":-0.5,"marginBalance":1234567.623456789012345678,"positionMargin":0,'
        '"orderMargin":0,"frozenFunds":0,"availableBalance":1234567.623456789012345678,'
        '"currency":"XBT"}}'
    )
    rows = list(kucoin.futures(client, page(raw)))
    assert [(r.balance.code, r.balance.product, r.balance.amount) for r in rows] == [
        ("BTC", "futures", D("1234567.623456789012345678")),
        ("BTC", "futures", D("-0.500000000000000000")),
    ]


def test_futures_without_equity_is_malformed(client):
    raw = '{"code":"200000","data":{"unrealisedPNL":0,"marginBalance":1,"currency":"USDT"}}'
    with pytest.raises(Malformed):
        list(kucoin.futures(client, page(raw)))


def test_margin_is_total_less_liability_and_may_be_a_debt(client):
    cross = {"code": "200000", "data": {"accounts": [
        {"currency": "USDT", "total": "100", "liability": "300.25"},
        {"currency": "BTC", "total": "0.5", "liability": "0"},
    ]}}  # fmt: skip
    assert amounts(kucoin.cross_margin, client, cross) == {
        ("USDT", "margin"): D("-200.25"),
        ("BTC", "margin"): D("0.5"),
    }


def test_margin_without_its_liability_is_malformed(client):
    cross = {"code": "200000", "data": {"accounts": [{"currency": "USDT", "total": "100"}]}}
    with pytest.raises(Malformed, match="liability"):
        list(kucoin.cross_margin(client, page(cross)))


def test_a_negative_margin_total_is_refused(client):
    cross = {"code": "200000", "data": {"accounts": [
        {"currency": "USDT", "total": "-1", "liability": "0"},
    ]}}  # fmt: skip
    with pytest.raises(MalformedAnswer, match="negative"):
        list(kucoin.cross_margin(client, page(cross)))


def test_isolated_positions_read_base_and_quote_each(client):
    position = {
        "symbol": "ETH-USDT", "status": "EFFECTIVE", "debtRatio": "0.3",
        "baseAsset": {"currency": "ETH", "total": "2", "liability": "0"},
        "quoteAsset": {"currency": "USDT", "total": "100", "liability": "300"},
    }  # fmt: skip
    other = position | {"symbol": "SOL-USDT", "baseAsset": {
        "currency": "SOL", "total": "10", "liability": "1",
    }}  # fmt: skip
    document = {"code": "200000", "data": {"assets": [position, other]}}
    rows = list(kucoin.isolated_margin(client, page(document)))
    assert [r.row_id for r in rows] == [
        "isolated ETH-USDT ETH",
        "isolated ETH-USDT USDT",
        "isolated SOL-USDT SOL",
        "isolated SOL-USDT USDT",
    ]
    assert amounts(kucoin.isolated_margin, client, document) == {
        ("ETH", "margin"): D("2"),
        ("USDT", "margin"): D("-400"),
        ("SOL", "margin"): D("9"),
    }


def account(kind: str, code: str, balance: str) -> dict[str, str]:
    return {"id": f"{kind}-{code}", "currency": code, "type": kind, "balance": balance,
            "available": balance, "holds": "0"}  # fmt: skip


def test_each_wallet_takes_its_own_account_types_only(client):
    document = {"code": "200000", "data": [
        account("trade", "BTC", "1"), account("trade_hf", "BTC", "2"),
        account("main", "USDT", "5"), account("margin", "USDT", "7"),
    ]}  # fmt: skip
    spot = kucoin.accounts_of(kucoin.SPOT_TYPES, "spot")
    funding = kucoin.accounts_of(kucoin.FUNDING_TYPES, "funding")
    assert amounts(spot, client, document) == {("BTC", "spot"): D("3")}
    # margin rows are read with their liabilities from the margin endpoints, never here.
    assert amounts(funding, client, document) == {("USDT", "funding"): D("5")}


def hold(category: str, amount: str, end: Any = None, order: str = "1") -> dict[str, Any]:
    return {
        "orderId": order, "productId": "p", "productCategory": category, "productType": "TIME",
        "currency": "KCS", "incomeCurrency": "KCS", "returnRate": "0.05",
        "holdAmount": amount, "redeemedAmount": "0", "redeemingAmount": "0",
        "lockStartTime": 1764547200000, "lockEndTime": end, "purchaseTime": 1764547200000,
        "redeemPeriod": 3, "status": "LOCKED", "earlyRedeemSupported": 0,
    }  # fmt: skip


def earn_page(*items: dict[str, Any], current: int = 1, total: int = 1) -> dict[str, Any]:
    return {"code": "200000", "data": {"totalNum": len(items), "items": list(items),
            "currentPage": current, "pageSize": 500, "totalPage": total}}  # fmt: skip


def test_locked_earn_carries_its_end_date_and_flexible_none(client):
    document = earn_page(
        hold("STAKING", "60", 1798761600000, "a"),
        hold("DEMAND", "5", None, "b"),
        hold("ACTIVITY", "7", "1798761600000", "c"),
    )
    found = {r.row_id: r.balance for r in kucoin.earn(client, page(document))}
    end = datetime(2027, 1, 1, tzinfo=UTC)
    assert (found["a"].product, found["a"].locks) == ("staking", (Lock(D("60"), end),))
    assert (found["b"].product, found["b"].locks) == ("earn", ())
    assert (found["c"].product, found["c"].locks) == ("earn", (Lock(D("7"), end),))


@pytest.mark.parametrize("end", ["soon", -5, 1.5e12, True])
def test_a_lock_end_that_is_no_time_is_malformed(client, end):
    with pytest.raises(Malformed, match="lockEndTime"):
        list(kucoin.earn(client, page(earn_page(hold("STAKING", "1", end)))))


def test_earn_pages_are_followed_to_the_last():
    params = {"currentPage": 1, "pageSize": 500}
    assert kucoin.next_earn_page(earn_page(current=1, total=3), params) == params | {
        "currentPage": 2
    }
    assert kucoin.next_earn_page(earn_page(current=3, total=3), params) is None
    assert kucoin.next_earn_page({"code": "200000"}, params) is None


@pytest.mark.parametrize(
    ("permission", "trade", "withdraw"),
    [
        ("General", False, False),
        ("General,Earn,InnerTransfer", False, False),
        ("General,Spot,Futures", True, False),
        ("General,Margin", True, False),
        ("General,Withdrawal", False, True),
        ("General,Trade,Transfer", True, True),  # the legacy names
    ],
)
def test_key_permissions_from_the_permission_list(permission, trade, withdraw):
    payload = {"code": "200000", "data": {"apiKey": "k", "permission": permission}}
    assert kucoin.permissions(payload) == {"read": True, "trade": trade, "withdraw": withdraw}


@pytest.mark.parametrize("permission", [None, "", ["General"], 3])
def test_a_permission_list_that_cannot_be_read_is_unknown(permission):
    with pytest.raises(PermissionsUnreadable):
        kucoin.permissions({"code": "200000", "data": {"permission": permission}})


def test_interest_reported_apart_is_part_of_the_debt(client):
    # An isolated answer as recorded from KuCoin: liability and interest in separate fields.
    position = {
        "symbol": "LTC-USDT", "status": "EFFECTIVE", "debtRatio": "0.6",
        "baseAsset": {"currency": "LTC", "total": "1", "liability": "0", "interest": "0"},
        "quoteAsset": {"currency": "USDT", "total": "100", "liability": "300", "interest": "0.25"},
    }  # fmt: skip
    document = {"code": "200000", "data": {"assets": [position]}}
    assert amounts(kucoin.isolated_margin, client, document) == {
        ("LTC", "margin"): D("1"),
        ("USDT", "margin"): D("-200.25"),
    }
