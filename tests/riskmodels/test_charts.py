"""The report's charts: exposure bars with levels, custody by location kind, stable colours,
labels as plain text."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from portfolio.models import LocationKind
from riskmodels.charts import (
    PALETTE,
    SELF_CUSTODY_COLOR,
    counterparty_color,
    custody_figure,
    exposure_figure,
    plain,
)
from riskmodels.selectors import HoldingLine
from tests.factories import book, computed_exposure, priced, worked_check

EVIL = '<a href="https://evil.example/">cold wallet</a>'


def row(group: str, share: str | None, warn: str | None = "0.2", breach: str | None = "0.25"):
    return {
        "group": group,
        "entities": [group],
        "tier": "A",
        "custody": share,
        "issuer": "0",
        "overlap": "0",
        "total": share,
        "share": share,
        "warn": warn,
        "breach": breach,
        "status": "ok",
        "move_to_comply": None,
    }


def line(kind: str, group: str | None, value: str | None, location: str = "loc") -> HoldingLine:
    return HoldingLine(
        location=location,
        kind=kind,
        custodian=group,
        group=group,
        asset="BTC",
        product="spot",
        amount=D(1),
        price=None if value is None else D(value),
        value=None if value is None else D(value),
    )


def test_counterparty_colour_is_pinned_to_its_slug():
    # Pinned values: a change of the hash or the palette would recolour every chart.
    assert counterparty_color("binance") == "#393b79"
    assert counterparty_color("okx") == "#637939"
    assert counterparty_color("self-custody") == SELF_CUSTODY_COLOR
    assert {counterparty_color(f"cp-{n}") for n in range(200)} == set(PALETTE)


def test_exposure_bars_are_sorted_with_each_groups_levels():
    figure = exposure_figure([row("okx", "0.15"), row("binance", "0.3"), row("none", None)])
    bars, warn, breach = figure["data"]
    assert bars["y"] == ["binance", "okx"]  # largest first (the axis is reversed: on top)
    assert bars["x"] == [30.0, 15.0]
    assert bars["marker"]["color"] == [counterparty_color("binance"), counterparty_color("okx")]
    assert bars["textposition"] == "outside"  # never text inside a small bar
    assert figure["layout"]["yaxis"]["automargin"] is True
    assert (warn["name"], warn["x"], warn["y"]) == ("warn level", [20.0, 20.0], bars["y"])
    assert (breach["name"], breach["x"]) == ("breach level", [25.0, 25.0])


def test_exposure_bars_grow_with_the_number_of_groups():
    few = exposure_figure([row("a", "0.1")])["layout"]["height"]
    many = exposure_figure([row(f"g{n}", "0.01") for n in range(20)])["layout"]["height"]
    assert many - few == 19 * 30


def test_a_group_without_levels_has_no_marker():
    figure = exposure_figure([row("x", "0.1", warn=None, breach=None)])
    assert [trace["x"] for trace in figure["data"][1:]] == [[], []]


def test_custody_is_a_bar_per_location_kind_stacked_by_group():
    figure = custody_figure(
        [
            line(LocationKind.EXCHANGE, "binance", "300"),
            line(LocationKind.EXCHANGE, "okx", "100"),
            line(LocationKind.CUSTODIAN, "bitgo", "50"),
            line(LocationKind.SELF_CUSTODY, None, "250"),
            line(LocationKind.EXCHANGE, "okx", None),  # unpriced: not drawn
            line(LocationKind.EXCHANGE, "okx", "-20"),  # a debt: not drawn
        ]
    )
    assert figure["layout"]["barmode"] == "stack"
    traces = {t["name"]: t for t in figure["data"]}
    kinds = figure["data"][0]["y"]
    assert kinds == ["Exchange account", "Self-custody wallet", "Custodian account"]
    assert traces["binance"]["x"] == [300.0, None, None]
    assert traces["okx"]["x"] == [100.0, None, None]
    assert traces["Self-custody"]["x"] == [None, 250.0, None]
    assert traces["Self-custody"]["marker"]["color"] == SELF_CUSTODY_COLOR
    assert all(t["textposition"] == "none" for t in figure["data"])


def test_custody_names_the_largest_groups_and_sums_the_rest():
    lines = [line(LocationKind.EXCHANGE, f"g{n:02}", str(100 - n)) for n in range(12)]
    names = [t["name"] for t in custody_figure(lines)["data"]]
    assert names == [f"g{n:02}" for n in range(10)] + ["other groups"]
    assert custody_figure(lines)["data"][-1]["x"] == [float(90 + 89)]  # g10 and g11


def test_labels_are_plain_text_never_live_links():
    assert plain(EVIL) == '&lt;a href="https://evil.example/"&gt;cold wallet&lt;/a&gt;'
    bars = exposure_figure([row(EVIL, "0.1")])["data"][0]
    assert bars["y"] == [plain(EVIL)]
    custody = custody_figure([line(LocationKind.EXCHANGE, EVIL, "10")])["data"][0]
    assert custody["name"] == plain(EVIL)
    assert "<a" not in str(custody) and "<a" not in str(bars)


@pytest.mark.django_db
def test_same_counterparty_keeps_its_colour_across_two_computes(tenants):
    """A second compute with another counterparty added, which changes every group's rank and
    index, draws binance in the same colour."""
    from riskmodels.selectors import report_page

    worked_check(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    first = report_page(portfolio=tenants.fund_a, stake=None)
    from tests.factories import LocationFactory, exchange

    bybit = LocationFactory.create(
        portfolio=tenants.fund_a,
        name="bybit",
        kind=LocationKind.EXCHANGE,
        custodian=exchange("aaa"),
    )
    book(bybit, {priced("BTC", "50000"): "100"})
    computed_exposure(tenants.fund_a)
    second = report_page(portfolio=tenants.fund_a, stake=None)

    def colours(page):
        bars = page["charts"]["exposure"]["figure"]["data"][0]
        return dict(zip(bars["y"], bars["marker"]["color"], strict=True))

    before, after = colours(first), colours(second)
    # Bars are labelled by display name; the colour follows the slug.
    assert next(iter(after)) == "Aaa"  # the order changed: aaa is now the largest
    assert next(iter(before)) == "Binance"
    assert before["Binance"] == after["Binance"] == counterparty_color("binance")
    assert before["Okx"] == after["Okx"]


def test_a_lone_report_gets_a_readable_time_axis():
    from datetime import UTC, datetime

    from riskmodels.charts import hhi_figure, share_figure

    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    history = [
        {"computed_at": at, "exposures": [], "findings": [], "hhi": "1", "hhi_third_party": "1"}
    ]
    expected = ["2026-02-28T12:00:00+00:00", "2026-03-02T12:00:00+00:00"]
    assert share_figure(history, row("binance", "0.1"))["layout"]["xaxis"]["range"] == expected
    assert hhi_figure(history)["layout"]["xaxis"]["range"] == expected
    two = [*history, {**history[0], "computed_at": at.replace(hour=13)}]
    assert "range" not in hhi_figure(two)["layout"]["xaxis"]
