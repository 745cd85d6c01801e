"""Limits typed in their unit and stored as exact numbers (percent -> fraction)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from riskmodels.policy_edit import LimitKey, ProposedLimit
from riskmodels.policy_forms import (
    LimitFormSet,
    display_level,
    initial_row,
    parse_level,
    value_with_unit,
)


@pytest.mark.parametrize(
    ("text", "rule", "stored"),
    [
        ("10", "group", "0.1"),
        ("10 %", "group", "0.1"),
        ("12.5%", "exchange_custody", "0.125"),
        ("0", "wrong_way", "0"),
        ("100", "group", "1"),
        ("0.0001", "group", "0.000001"),
        ("1,800", "hhi_third_party", "1800"),
        ("6", "stale_data", "6"),
        ("", "group", None),
    ],
)
def test_parse_level_stores_the_exact_number(text, rule, stored):
    value = parse_level(text, rule)
    expected = None if stored is None else Decimal(stored)
    assert value == expected
    assert str(value) == str(expected)  # 0.1, not 0.10 nor 1E-1


@pytest.mark.parametrize(
    ("text", "rule", "message"),
    [
        ("-5", "group", "cannot be negative"),
        ("101", "group", "above 100 %"),
        ("ten", "group", "Enter a number"),
        ("1e2", "group", "Enter a number"),
        ("0,5", "group", "Enter a number"),
        ("12.34567", "group", "at most 4 decimals"),
        ("10 %", "hhi_third_party", "not a percentage"),
        ("10001", "hhi_third_party", "At most 10,000 points"),
        ("0", "stale_data", "more than 0"),
        ("NaN", "group", "Enter a number"),
        ("\u0663", "stale_data", "Enter a number"),  # an Arabic-Indic 3
        ("1000000", "stale_data", "Too large: enter less than 1,000,000"),
    ],
)
def test_parse_level_refuses_with_a_clear_message(text, rule, message):
    with pytest.raises(ValidationError) as error:
        parse_level(text, rule)
    assert message in " ".join(error.value.messages)


def test_display_level_shows_a_stored_fraction_in_percent():
    assert display_level(Decimal("0.100000"), "group") == "10"
    assert display_level(Decimal("0.125000"), "group") == "12.5"
    assert display_level(Decimal("1800.000000"), "hhi_third_party") == "1,800"
    assert display_level(None, "group") == ""
    assert value_with_unit(Decimal("0.252631578947"), "group") == "25.26 %"
    assert value_with_unit(Decimal("7.5"), "stale_data") == "7.5 hours"


def _formset(rows: list[dict[str, str]], extra: Sequence[dict[str, str]] = (), **kwargs):
    data = {"form-TOTAL_FORMS": str(len(rows) + len(extra)), "form-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate([*rows, *extra]):
        data |= {f"form-{index}-{name}": value for name, value in row.items()}
    scopes = [("tier:A", "Tier A"), ("counterparty:binance", "Binance")]
    options = {"scopes": scopes, "groups": ["binance"], **kwargs}
    return LimitFormSet(data, initial=rows, form_kwargs=options)


def test_formset_gives_the_proposed_limits_as_exact_fractions():
    formset = _formset([{"rule": "group", "scope": "tier:A", "warn": "20", "breach": "25 %"}])
    assert formset.is_valid(), formset.errors
    assert formset.proposed() == [
        ProposedLimit(LimitKey("group", "A"), Decimal("0.2"), Decimal("0.25"))
    ]


def test_formset_refuses_warn_above_breach_in_percent():
    formset = _formset([{"rule": "group", "scope": "tier:A", "warn": "30", "breach": "25"}])
    assert not formset.is_valid()
    assert formset.errors[0]["warn"] == [
        "The warn level (30 %) must not be above the breach level (25 %)."
    ]


def test_formset_requires_a_level_on_a_standard_row():
    key = LimitKey("exchange_custody")
    formset = _formset(
        [{"rule": "exchange_custody", "scope": "", "warn": "", "breach": ""}],
        required_keys=frozenset({key}),
    )
    assert not formset.is_valid()
    assert "Set a warn level" in formset.errors[0]["breach"][0]


def test_formset_skips_an_empty_new_row_and_takes_a_filled_one():
    extra = [
        {"rule": "group", "scope": "counterparty:binance", "warn": "5", "breach": "7.5"},
        {"rule": "group", "scope": "", "warn": "", "breach": ""},
    ]
    formset = _formset([], extra)
    assert formset.is_valid(), formset.errors
    assert formset.proposed() == [
        ProposedLimit(LimitKey("group", "", "binance"), Decimal("0.05"), Decimal("0.075"))
    ]


def test_formset_refuses_a_scope_on_a_portfolio_wide_rule_and_duplicates():
    scoped = _formset([{"rule": "hhi_third_party", "scope": "tier:A", "warn": "1", "breach": ""}])
    assert not scoped.is_valid()
    assert "whole portfolio only" in scoped.errors[0]["scope"][0]
    row = {"rule": "group", "scope": "tier:A", "warn": "20", "breach": "25"}
    twice = _formset([row, row])
    assert not twice.is_valid()
    assert "listed twice" in twice.non_form_errors()[0]


def test_initial_row_shows_stored_levels_in_the_unit():
    item = ProposedLimit(LimitKey("group", "B"), Decimal("0.100000"), Decimal("0.150000"))
    assert initial_row(item) == {"rule": "group", "scope": "tier:B", "warn": "10", "breach": "15"}


def test_a_new_global_row_is_a_tier_or_counterparty_override_of_a_scoped_rule():
    extra = [{"rule": "hhi_third_party", "scope": "", "warn": "1", "breach": ""}]
    formset = _formset([], extra)
    assert not formset.is_valid()
    assert "Select a valid choice" in formset.errors[0]["rule"][0]
    assert _formset([], extra, any_new_rule=True).is_valid()
