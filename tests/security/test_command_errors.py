"""Management commands answer odd input with one clear line (a CommandError, which Django
prints as one line with exit status 1), never a traceback."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import PortfolioFactory

ODD_SLUGS = ["no-such-fund", "fund\x00", "²", "x" * 300]
ODD_TIMES = ["2024-13-45", "2024-01-01T25:00", "2024-02-30", "²⁰²⁴-01-01", "99999-01-01", "x"]


@pytest.mark.parametrize("slug", ODD_SLUGS)
@pytest.mark.parametrize("command", ["exposure_report", "compute_exposure"])
def test_an_unknown_portfolio_is_one_line(db, command, slug):
    with pytest.raises(CommandError, match="No portfolio"):
        call_command(command, slug)


@pytest.mark.parametrize("at", ODD_TIMES)
def test_a_malformed_time_is_one_line(db, at):
    PortfolioFactory.create(slug="fund-a")
    with pytest.raises(CommandError, match="--at"):
        call_command("exposure_report", "fund-a", "--at", at)


@pytest.mark.parametrize("slug", ODD_SLUGS)
def test_importing_into_an_unknown_portfolio_is_one_line(db, tmp_path, slug):
    file = tmp_path / "holdings.csv"
    file.write_text("location,asset,amount\n")
    with pytest.raises(CommandError, match="No portfolio"):
        call_command("import_holdings", slug, str(file))


@pytest.mark.parametrize("name", ["missing.csv", "bad\x00name.csv"])
def test_a_missing_file_is_one_line(db, tmp_path, name):
    PortfolioFactory.create(slug="fund-a")
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import_holdings", "fund-a", str(tmp_path / name))
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import_prices", str(tmp_path / name))
