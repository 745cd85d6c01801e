"""The custom scenario form: a name, loss given default per counterparty group, price shocks
per asset (or per kind of asset). Percentages in, exact fractions out; bad input gets a clear
error on its row, never a 500."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q

from portfolio.models import Asset, AssetKind, Counterparty, Portfolio
from riskmodels.alert_pages import display_name
from riskmodels.models import StressScenario
from riskmodels.selectors import exposure_at
from riskmodels.services import ShockSpec

ROWS = 4  # rows of each kind on the form; a scenario rarely needs more
KIND_PREFIX = "kind:"


def _percent_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        label=label,
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": "%", "aria-label": label}),
    )


def group_choices() -> list[tuple[str, str]]:
    """Top-level counterparties (groups), by display name: shocks name groups."""
    groups = Counterparty.objects.filter(parent__isnull=True)
    named = sorted(((str(c.pk), display_name(c)) for c in groups), key=lambda c: c[1].lower())
    return [("", "—"), *named]


def target_choices(portfolio: Portfolio) -> list[tuple[str, str]]:
    """Every asset the portfolio may see by code, then every kind ("every exchange token")."""
    rows = Asset.objects.visible_to(portfolio).order_by("code").values_list("pk", "code")
    assets = [(str(pk), code) for pk, code in rows]
    kinds = [(f"{KIND_PREFIX}{k}", f"Every {label.lower()}") for k, label in AssetKind.choices]
    return [("", "—"), ("Assets", assets), ("Kinds of asset", kinds)]  # type: ignore[list-item]


class CustomScenarioForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)

    def __init__(self, *args: Any, portfolio: Portfolio, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        self.shocks: list[ShockSpec] = []
        groups, targets = group_choices(), target_choices(portfolio)
        for i in range(ROWS):
            self.fields[f"lgd_group_{i}"] = forms.ChoiceField(
                choices=groups, required=False, label="Counterparty group"
            )
            self.fields[f"lgd_percent_{i}"] = _percent_field(f"Loss given default {i + 1}, %")
            self.fields[f"lgd_group_{i}"].widget.attrs["aria-label"] = f"Counterparty group {i + 1}"
        for i in range(ROWS):
            self.fields[f"shock_target_{i}"] = forms.ChoiceField(
                choices=targets, required=False, label="Asset"
            )
            self.fields[f"shock_percent_{i}"] = _percent_field(f"Price shock {i + 1}, %")
            self.fields[f"shock_target_{i}"].widget.attrs["aria-label"] = f"Asset {i + 1}"

    def lgd_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"lgd_group_{i}"], self[f"lgd_percent_{i}"]) for i in range(ROWS)]

    def shock_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"shock_target_{i}"], self[f"shock_percent_{i}"]) for i in range(ROWS)]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        taken = StressScenario.objects.filter(
            Q(portfolio=self.portfolio) | Q(portfolio__isnull=True), name__iexact=name
        )
        if taken.exists() or name.lower() in self._report_names():
            raise forms.ValidationError("A scenario of this name exists already.")
        return name

    def _report_names(self) -> set[str]:
        """The names of the latest report's scenarios, presets included, in lower case."""
        snapshot = exposure_at(self.portfolio.pk)
        rows = snapshot.report.get("scenarios", []) if snapshot else []
        return {row["name"].lower() for row in rows}

    def clean(self) -> dict[str, Any]:
        """Each filled row becomes one shock; a half-filled or repeated row is an error."""
        data = super().clean() or {}
        self.shocks = [
            *self._rows("lgd_group", "lgd_percent", self._lgd_spec),
            *self._rows("shock_target", "shock_percent", self._price_spec),
        ]
        if not self.shocks and not self.errors:
            raise forms.ValidationError("Give at least one loss given default or one price shock.")
        return data

    def _rows(self, choice: str, percent: str, spec: Any) -> list[ShockSpec]:
        found, seen = [], set()
        for i in range(ROWS):
            picked = self.cleaned_data.get(f"{choice}_{i}")
            value = self.cleaned_data.get(f"{percent}_{i}")
            if f"{percent}_{i}" in self.errors:
                continue
            if not picked and value is None:
                continue
            if not picked or value is None:
                self.add_error(f"{percent}_{i}", "Give both the choice and the percentage.")
            elif value == 0:
                self.add_error(f"{percent}_{i}", "A loss of 0% changes nothing: give more than 0.")
            elif picked in seen:
                self.add_error(f"{choice}_{i}", "Chosen twice: give each one row.")
            else:
                seen.add(picked)
                found.append(spec(picked, value.scaleb(-2)))
        return found

    @staticmethod
    def _lgd_spec(pk: str, fraction: Decimal) -> ShockSpec:
        return ShockSpec(fraction=fraction, custody_group=Counterparty.objects.get(pk=pk))

    @staticmethod
    def _price_spec(target: str, fraction: Decimal) -> ShockSpec:
        if target.startswith(KIND_PREFIX):
            return ShockSpec(fraction=fraction, asset_kind=target.removeprefix(KIND_PREFIX))
        return ShockSpec(fraction=fraction, asset=Asset.objects.get(pk=target))
