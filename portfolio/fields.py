"""A decimal column that keeps every digit on SQLite as well as on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class ExactDecimalField(models.DecimalField):
    """Amounts and prices: numeric(38, 18) on PostgreSQL, text on SQLite.

    SQLite keeps DECIMAL columns as 8-byte floats, so 1234.567890123456789 would come back
    as 1234.56789012346: a holding that silently changed. On SQLite this field stores the
    exact fixed-point text instead. Arithmetic on it belongs in Python (Decimal), not SQL.
    """

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's backend would convert the text through a float.
        return "ExactDecimalField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return f"numeric({self.max_digits}, {self.decimal_places})"

    def rel_db_type(self, connection: BaseDatabaseWrapper) -> str:
        return self.db_type(connection)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "sqlite" and isinstance(value, Decimal):
            return format(value, "f")
        return value

    def get_db_converters(self, connection: BaseDatabaseWrapper) -> list[Any]:
        # PostgreSQL's driver already returns Decimal: converting 100,000 amounts row by row
        # for nothing is a measurable part of computing an exposure.
        if connection.vendor == "postgresql":
            return []
        return super().get_db_converters(connection)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value))
