"""The policy page's forms: limits entered and shown in their unit (percent of NAV, HHI points,
hours, holdings), stored as the exact numbers the engine reads (10 % is the fraction 0.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from riskmodels.engine.policy import TIERS
from riskmodels.engine.policy_preview import FindingChange
from riskmodels.engine.rules import RULE_LABELS, SCOPED_RULES, SHARE_RULES, Rule
from riskmodels.models import limit_bounds
from riskmodels.policy_edit import LimitKey, PortfolioPreview, ProposedLimit
from riskmodels.reports import decimal_text

HUNDRED = Decimal(100)
# Limit columns are numeric(12, 6): a fraction keeps 6 decimals, so a percentage 4.
STORED_QUANTUM = Decimal("0.000001")
# ASCII digits only (\d would take any script's digits).
PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
THOUSANDS = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
# numeric(12, 6): six digits before the point.
STORED_LIMIT = Decimal(1_000_000)
UNITS = {Rule.HHI_THIRD_PARTY: "points", Rule.STALE_DATA: "hours"}
SCOPE_ALL = ""
TIER_PREFIX = "tier:"
COUNTERPARTY_PREFIX = "counterparty:"


def unit_of(rule: str) -> str:
    """What a level of the rule is counted in, as shown beside its inputs."""
    if rule in SHARE_RULES:
        return "%"
    return UNITS.get(Rule(rule), "holdings")


def parse_level(text: str, rule: str) -> Decimal | None:
    """A level as typed ("10", "10 %", "1,800") to the stored number (0.1, 1800); blank is None.

    Raises ValidationError with a message in the rule's unit for anything else.
    """
    text = text.strip().replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    percent = rule in SHARE_RULES
    if text.endswith("%"):
        if not percent:
            raise ValidationError(f"This limit is in {unit_of(rule)}, not a percentage.")
        text = text[:-1]
    if text.startswith("-"):
        raise ValidationError("A limit cannot be negative.")
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    if not PLAIN_NUMBER.match(text):
        raise ValidationError("Enter a number, such as 10 or 12.5 (with a point for decimals).")
    value = Decimal(text).scaleb(-2) if percent else Decimal(text)
    _check_bounds(value, rule)
    if value != value.quantize(STORED_QUANTUM):
        places = 4 if percent else 6
        raise ValidationError(f"Use at most {places} decimals.")
    return exact(value)


def _check_bounds(value: Decimal, rule: str) -> None:
    _, high, _ = limit_bounds(rule)
    if rule in SHARE_RULES and value > 1:
        raise ValidationError("A share of NAV cannot be above 100 %.")
    if high is not None and value > high:
        raise ValidationError(f"At most {format_number(high)} {unit_of(rule)}.")
    if value >= STORED_LIMIT:
        raise ValidationError(f"Too large: enter less than {format_number(STORED_LIMIT)}.")
    if rule == Rule.STALE_DATA and value == 0:
        raise ValidationError("Zero hours would call every holding stale: enter more than 0.")


def exact(value: Decimal) -> Decimal:
    """The number without trailing zeros or exponent: 0.100000 -> 0.1, 1800.000000 -> 1800."""
    return Decimal(decimal_text(value))


def format_number(value: Decimal) -> str:
    """A number with thousands separators and no trailing zeros: 10000 -> "10,000"."""
    text = decimal_text(value)
    whole, _, decimals = text.partition(".")
    grouped = f"{int(whole):,}"
    return f"{grouped}.{decimals}" if decimals else grouped


def display_level(value: Decimal | None, rule: str) -> str:
    """A stored level as typed on the page: 0.1 -> "10", 1800 -> "1,800"; None -> ""."""
    if value is None:
        return ""
    return format_number(value.scaleb(2) if rule in SHARE_RULES else value)


def with_unit(value: Decimal | None, rule: str) -> str:
    """A level with its unit for reading: "10 %", "1,800 points", "—" when it does not exist."""
    if value is None:
        return "—"
    unit = unit_of(rule)
    return f"{display_level(value, rule)} {unit}"


def scope_value(key: LimitKey) -> str:
    if key.counterparty:
        return COUNTERPARTY_PREFIX + key.counterparty
    return TIER_PREFIX + key.tier if key.tier else SCOPE_ALL


def parse_scope(scope: str) -> tuple[str, str]:
    """A scope choice ("", "tier:A", "counterparty:binance") as (tier, counterparty slug)."""
    if scope.startswith(TIER_PREFIX):
        return scope.removeprefix(TIER_PREFIX), ""
    if scope.startswith(COUNTERPARTY_PREFIX):
        return "", scope.removeprefix(COUNTERPARTY_PREFIX)
    return "", ""


def scope_label(key: LimitKey, names: dict[str, str]) -> str:
    if key.counterparty:
        return names.get(key.counterparty, key.counterparty)
    return f"Tier {key.tier}" if key.tier else "All"


class LimitForm(forms.Form):
    """One limit: a rule, who it applies to (all, a tier, a counterparty) and its two levels."""

    rule = forms.ChoiceField(choices=[(r.value, RULE_LABELS[r]) for r in Rule if r in SCOPED_RULES])
    scope = forms.ChoiceField(required=False)
    warn = forms.CharField(required=False, max_length=32)
    breach = forms.CharField(required=False, max_length=32)

    def __init__(
        self,
        *args: Any,
        scopes: Sequence[tuple[str, Any]] = (),
        groups: Iterable[str] = (),
        required_keys: frozenset[LimitKey] = frozenset(),
        any_new_rule: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        rule = cast(forms.ChoiceField, self.fields["rule"])
        scope = cast(forms.ChoiceField, self.fields["scope"])
        # A listed limit may be of any rule. A new one on the global policy, whose general
        # limits are all listed, is a tier or counterparty override of a scoped rule.
        if any_new_rule or not self.empty_permitted:
            rule.choices = [(r.value, RULE_LABELS[r]) for r in Rule]
        scope.choices = [(SCOPE_ALL, "All"), *scopes]
        self.groups = frozenset(groups)
        self.required_keys = required_keys

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.empty_permitted and self.is_blank():
            return data  # a new row left empty: nothing to add
        rule, scope = data.get("rule"), data.get("scope", SCOPE_ALL)
        if rule is None or scope is None:
            return data
        key = self._key(rule, scope)
        data["key"] = key
        levels = {name: self._level(name, rule) for name in ("warn", "breach")}
        warn, breach = levels["warn"], levels["breach"]
        if warn is not None and breach is not None and warn > breach:
            self.add_error(
                "warn",
                f"The warn level ({with_unit(warn, rule)}) must not be above the breach level "
                f"({with_unit(breach, rule)}).",
            )
        if key in self.required_keys and warn is None and breach is None:
            self.add_error("breach", "Set a warn level, a breach level, or both.")
        data["limit"] = ProposedLimit(key, warn, breach)
        return data

    def _level(self, name: str, rule: str) -> Decimal | None:
        try:
            return parse_level(self.cleaned_data.get(name) or "", rule)
        except ValidationError as error:
            self.add_error(name, error)
            return None

    def _key(self, rule: str, scope: str) -> LimitKey:
        tier, slug = parse_scope(scope)
        if scope != SCOPE_ALL and rule not in SCOPED_RULES:
            self.add_error("scope", "This rule applies to the whole portfolio only: choose All.")
        elif slug and rule != Rule.DISTRESSED and slug not in self.groups:
            self.add_error("scope", "Choose the counterparty's group: limits apply per group.")
        return LimitKey(rule, tier, slug)

    def is_blank(self) -> bool:
        """A new row left empty is not an error: there is simply nothing to add."""
        return not any(
            (self.data.get(self.add_prefix(n)) or "").strip() for n in ("warn", "breach")
        )


class BaseLimitFormSet(forms.BaseFormSet):
    """The policy's limits; each (rule, scope) once."""

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[LimitKey] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if key is None:
                continue
            if key in seen:
                raise ValidationError("The same rule is listed twice for the same scope.")
            seen.add(key)

    def proposed(self) -> list[ProposedLimit]:
        """The limits as entered, valid form by valid form (call after is_valid)."""
        return [f.cleaned_data["limit"] for f in self.forms if "limit" in f.cleaned_data]


# Two empty rows below the listed limits, to add a tier or counterparty override.
LimitFormSet = forms.formset_factory(LimitForm, formset=BaseLimitFormSet, extra=2)


VALUE_QUANTUM = Decimal("0.01")


def value_with_unit(value: Decimal | None, rule: str) -> str:
    """A measured value for reading, to 2 decimals in its unit: "25.26 %", "7.5 hours"."""
    if value is None:
        return "—"
    shown = value.scaleb(2) if rule in SHARE_RULES else value
    return f"{format_number(shown.quantize(VALUE_QUANTUM))} {unit_of(rule)}"


def limits_text(warn: Decimal | None, breach: Decimal | None, rule: str) -> str:
    return f"warn {with_unit(warn, rule)} · breach {with_unit(breach, rule)}"


def rule_label(rule: str) -> str:
    try:
        return RULE_LABELS[Rule(rule)]
    except ValueError:
        return rule


def scope_choices(names: dict[str, str]) -> list[tuple[str, Any]]:
    """The "applies to" options after "All": each rating tier, then each counterparty by name."""
    tiers = [(TIER_PREFIX + tier, f"Tier {tier}") for tier in TIERS]
    by_name = sorted(names.items(), key=lambda pair: pair[1].lower())
    counterparties = [(COUNTERPARTY_PREFIX + slug, name) for slug, name in by_name]
    return [("Rating tier", tiers), ("Counterparty", counterparties)]


def initial_row(item: ProposedLimit) -> dict[str, str]:
    """A listed limit as the form shows it first: its levels in the rule's unit."""
    rule = item.key.rule
    return {
        "rule": rule,
        "scope": scope_value(item.key),
        "warn": display_level(item.warn, rule),
        "breach": display_level(item.breach, rule),
    }


def row_labels(form: LimitForm, names: dict[str, str]) -> dict[str, str]:
    """What a listed row reads as: its rule, whom it applies to, its unit."""
    rule = str(form["rule"].value() or "")
    scope = str(form["scope"].value() or "")
    key = LimitKey(rule, *parse_scope(scope))
    unit = unit_of(rule) if rule in set(Rule) else ""
    return {"rule": rule_label(rule), "scope": scope_label(key, names), "unit": unit}


def present_previews(
    previews: Iterable[PortfolioPreview], names: dict[str, str], locations: dict[str, str]
) -> list[dict[str, Any]]:
    """Each portfolio's status now and after, and its changed findings in words.

    `names` maps counterparty slugs to names, `locations` location ids (the subjects of the
    stale-data rule) to location names.
    """
    subjects = {**names, **{f"location:{pk}": name for pk, name in locations.items()}}
    return [_present(preview, subjects) for preview in previews]


def _present(preview: PortfolioPreview, names: dict[str, str]) -> dict[str, Any]:
    impact = preview.impact
    row: dict[str, Any] = {"portfolio": preview.portfolio, "error": preview.error}
    if impact is None:
        return row
    findings = [_finding_words(change, names) for change in impact.changes]
    return row | {
        "before": impact.status_before,
        "after": impact.status_after,
        "changed": impact.status_before != impact.status_after,
        "findings": [f for f, c in zip(findings, impact.changes, strict=True) if c.level_changed],
        "limits_only": [
            f for f, c in zip(findings, impact.changes, strict=True) if not c.level_changed
        ],
    }


# Subjects that name no one: the rule is measured over the whole portfolio.
WHOLE_PORTFOLIO = frozenset({"all", "third_party"})


def _finding_words(change: FindingChange, names: dict[str, str]) -> dict[str, str]:
    key = f"location:{change.subject}" if change.rule == Rule.STALE_DATA else change.subject
    subject = "" if change.subject in WHOLE_PORTFOLIO else names.get(key, change.subject)
    return {
        "rule": rule_label(change.rule),
        "subject": subject,
        "value": value_with_unit(change.value, change.rule),
        "before": change.level_before,
        "after": change.level_after,
        "limits_before": limits_text(change.warn_before, change.breach_before, change.rule),
        "limits_after": limits_text(change.warn_after, change.breach_after, change.rule),
    }
