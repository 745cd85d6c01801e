"""Forms for holdings entered by hand. Every bad input becomes a form error, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from portfolio.imports import (
    HOLDINGS_HEADER,
    MAX_FILE_BYTES,
    CsvFileError,
    NewLocation,
    custody_problem,
    decode_csv_bytes,
    manual_locations,
    parse_amount,
    parse_asset_code,
    parse_location_name,
)
from portfolio.models import (
    Counterparty,
    CounterpartyKind,
    CustodyLocation,
    LocationKind,
    Portfolio,
    Product,
)

T = TypeVar("T")
FieldT = TypeVar("FieldT", bound=forms.Field)


def _checked(parse: Callable[[str], T], text: str) -> T:
    # The CSV import and this form share one parser, so both accept exactly the same values.
    try:
        return parse(text)
    except ValueError as error:
        raise ValidationError(str(error)) from None


def form_field(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """A form's field as its class declared it (`form.fields` knows them only as Fields)."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"{name} is a {type(field).__name__}, not a {kind.__name__}")
    return field


class LocationChoiceField(forms.ModelChoiceField):
    """A location named with its kind, so that two similar names are told apart."""

    def label_from_instance(self, obj: CustodyLocation) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class ManualHoldingForm(forms.Form):
    location = LocationChoiceField(
        queryset=CustodyLocation.objects.none(),
        required=False,
        empty_label="— a new location, named below —",
    )
    new_location_name = forms.CharField(max_length=120, required=False, label="New location")
    new_location_kind = forms.ChoiceField(
        choices=[("", "—"), *LocationKind.choices], required=False, label="Kind"
    )
    new_location_custodian = forms.ModelChoiceField(
        queryset=Counterparty.objects.exclude(kind=CounterpartyKind.GROUP).order_by("name"),
        to_field_name="slug",
        required=False,
        label="Custodian",
        help_text="Empty for self-custody.",
    )
    asset = forms.CharField(max_length=32, help_text="Code such as BTC; unknown codes are kept.")
    product = forms.ChoiceField(choices=Product.choices, initial=Product.SPOT)
    amount = forms.CharField(
        max_length=60, help_text="Plain decimal; negative for a debt; 0 removes the row."
    )

    def __init__(self, *args: Any, portfolio: Portfolio, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        form_field(self, "location", LocationChoiceField).queryset = manual_locations(portfolio)

    def clean_asset(self) -> str:
        return _checked(parse_asset_code, self.cleaned_data["asset"])

    def clean_amount(self) -> Decimal:
        return _checked(parse_amount, self.cleaned_data["amount"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        naming = data.get("new_location_name")
        if data.get("location") is not None:
            if naming:
                self.add_error("new_location_name", "Choose a location or name a new one.")
        elif "location" not in self.errors:
            self._clean_new_location(data)
        return data

    def _clean_new_location(self, data: dict[str, Any]) -> None:
        name = data.get("new_location_name", "")
        kind = data.get("new_location_kind")
        if not name:
            self.add_error("new_location_name", "Choose a location above or name a new one.")
        elif self.portfolio.locations.filter(name=parse_location_name(name)).exists():
            self.add_error("new_location_name", "A location with this name already exists.")
        if not kind:
            self.add_error("new_location_kind", "Say what kind of location this is.")
        elif problem := custody_problem(kind, data.get("new_location_custodian") is not None):
            self.add_error("new_location_custodian", problem)

    def target(self) -> CustodyLocation | NewLocation:
        data = self.cleaned_data
        if data["location"] is not None:
            return data["location"]
        return NewLocation(
            name=data["new_location_name"],
            kind=data["new_location_kind"],
            custodian=data["new_location_custodian"],
        )


class HoldingsUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 CSV with the header {','.join(HOLDINGS_HEADER)}.",
    )

    def clean_file(self) -> str:
        """The file's text: too large, binary or non-UTF-8 files stop here."""
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_FILE_BYTES:
            raise ValidationError(f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB.")
        try:
            return decode_csv_bytes(upload.read())
        except CsvFileError as error:
            raise ValidationError(f"Not imported: {error}.") from None
