from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from riskmodels.reports import decimal_text


@extend_schema_field({"type": "string", "format": "decimal", "example": "2500000.5"})
class ExactDecimalField(serializers.Field):
    """A Decimal as exact fixed-point text, as the reports write it: never a float, never
    rounded, no exponent, no trailing zeros. Read-only."""

    def __init__(self, *, allow_null: bool = False, help_text: str | None = None) -> None:
        super().__init__(read_only=True, allow_null=allow_null, help_text=help_text)

    def to_representation(self, value: Decimal | str) -> str:
        return decimal_text(Decimal(value))
