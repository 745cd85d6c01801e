"""Holdings and prices entered by hand: CSV imports and one manual holding at a time.

A file is validated whole before anything is written: one bad line imports nothing, and every
error names its line and field so that the whole file can be fixed in one pass. Each location
named in a holdings file gets one new snapshot holding exactly the file's rows, so the file
replaces that location's current holdings while the older snapshots stay as history.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from portfolio.models import (
    Asset,
    AssetKind,
    Counterparty,
    CounterpartyKind,
    CustodyLocation,
    ExchangeAccount,
    Holding,
    HoldingSnapshot,
    LocationKind,
    Portfolio,
    Price,
    Product,
    SnapshotSource,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from accounts.models import User

    class _Synced(TypedDict):
        synced: bool  # an ExchangeAccount exists: the location is read from its exchange

    # An existing location as _plan_holdings reads it.
    SyncedLocation = WithAnnotations[CustodyLocation, _Synced]

T = TypeVar("T")

MAX_FILE_BYTES = 2_000_000
# One file's reach: a file of a few hundred kB must not create thousands of shared rows.
MAX_ROWS = 2_000
MAX_NEW_LOCATIONS = 50
MAX_NEW_ASSETS = 50
HOLDINGS_HEADER = ("location", "location_kind", "custodian", "asset", "product", "amount")
PRICES_HEADER = ("asset", "price_usd")
PRICES_OPTIONAL = ("as_of",)
MANUAL_PRICE_SOURCE = "manual"

# The columns are numeric(38, 18): 20 integer digits and 18 decimals.
_MAX_DECIMALS = 18
_LIMIT = Decimal("1e20")
# Wide enough that normalising a 38-digit amount never rounds it (the default keeps 28).
_WIDE = Context(prec=80)
# ASCII digits only: \d would also let other scripts' digits through.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ASSET_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
# A manual price dated later than this is a typo (2052 for 2025) that would outrank real prices.
_CLOCK_SKEW = timedelta(minutes=5)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    """One problem in a file, where to find it, and what is wrong."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    """What an import wrote, or why it wrote nothing (`errors`)."""

    errors: list[LineError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    locations_created: int = 0
    snapshots_created: int = 0
    holdings_created: int = 0
    assets_created: int = 0
    prices_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = []
        if self.snapshots_created:
            parts.append(
                f"{self.snapshots_created} location(s) replaced "
                f"({self.locations_created} new), {self.holdings_created} holding(s)"
            )
        if self.assets_created:
            parts.append(f"{self.assets_created} new unclassified asset(s)")
        if self.prices_created:
            parts.append(f"{self.prices_created} manual price(s)")
        return "; ".join(parts) or "nothing"


class CsvFileError(ValueError):
    """The file cannot be read as CSV text at all (binary, wrong encoding, unreadable)."""


class ManualEntryError(ValueError):
    """A manual holding that cannot be recorded; the message is meant for the manager."""


# --- reading files -------------------------------------------------------------------------


def decode_csv_bytes(data: bytes) -> str:
    """The file as text. Only UTF-8 is accepted; a BOM (Excel writes one) is dropped."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError("the file is UTF-16 text; save it as CSV UTF-8")
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    if b"\x00" in data:
        raise CsvFileError("this is not a CSV file: it contains binary data")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvFileError(
            f"line {line}: the file is not UTF-8 text; save it as CSV UTF-8"
        ) from None


def read_csv_path(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CsvFileError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError:  # a NUL in the name: no file can have it
        raise CsvFileError(f"cannot read {str(path)!r}: a file name has no NUL") from None
    return decode_csv_bytes(data)


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


def _records(text: str) -> tuple[list[tuple[int, list[str]]], list[LineError]]:
    """(first line, stripped fields) of every non-blank record; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for fields in reader:
            if any(value.strip() for value in fields):
                records.append((line, [value.strip() for value in fields]))
            line = reader.line_num + 1
    except csv.Error as error:
        # The record that failed starts at `line` (an unclosed quote runs to the end).
        return records, [LineError(line, None, f"not valid CSV ({error})")]
    return records, []


def _header_errors(
    line: int, names: list[str], required: Iterable[str], optional: Iterable[str]
) -> list[LineError]:
    expected = ",".join([*required, *(f"[{name}]" for name in optional)])
    errors = [
        LineError(line, name, "column appears twice in the header")
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    errors += [
        LineError(line, name, f"column missing from the header (expected {expected})")
        for name in required
        if name not in names
    ]
    known = {*required, *optional}
    errors += [
        LineError(line, name or "(empty)", f"unknown column (expected {expected})")
        for name in names
        if name not in known
    ]
    return errors


def read_table(
    text: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> tuple[list[CsvRow], list[LineError]]:
    """Rows keyed by column name; the header is the first non-blank line, in any order."""
    records, errors = _records(text)
    if errors and not records:
        return [], errors
    if not records:
        expected = ",".join(required)
        message = f"the file is empty; expected the header {expected}"
        return [], [*errors, LineError(1, None, message)]
    (header_line, header), *body = records
    if len(body) > MAX_ROWS:
        message = (
            f"the file has {len(body):,} rows; at most {MAX_ROWS:,} are read at once: split it"
        )
        return [], [*errors, LineError(body[MAX_ROWS][0], None, message)]
    names = [name.lower() for name in header]
    header_problems = _header_errors(header_line, names, required, optional)
    if header_problems:
        return [], errors + header_problems
    rows = []
    for line, fields in body:
        if len(fields) != len(names):
            message = f"{len(fields)} fields, expected {len(names)} ({','.join(names)})"
            errors.append(LineError(line, None, message))
        else:
            rows.append(CsvRow(line, dict(zip(names, fields, strict=True))))
    if not body and not errors:
        errors.append(LineError(header_line, None, "the file has a header but no rows"))
    return rows, errors


def _cell(row: CsvRow, name: str, parse: Callable[[str], T], errors: list[LineError]) -> T | None:
    """The parsed value of one field, or None with the problem added to `errors`."""
    try:
        return parse(row.values.get(name, ""))
    except ValueError as error:
        errors.append(LineError(row.line, name, str(error)))
        return None


# --- fields --------------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal:
    """A plain decimal number such as -1234.5: no exponent, no thousands separator.

    "1e5" is refused rather than read, because a spreadsheet writes it for numbers it has
    already rounded through a float; the digits a fund holds must come through as typed.
    """
    text = text.strip()
    if not text:
        raise ValueError("required: a decimal number such as 1234.5")
    if len(text) > 60 or not _PLAIN_DECIMAL.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a decimal number (write plain digits such as -1234.5; "
            "no exponent, no thousands separator)"
        )
    value = Decimal(text)
    # An int for every finite number, which is all the pattern admits ('n', 'F': NaN, infinity).
    exponent = value.normalize(_WIDE).as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _MAX_DECIMALS:
        raise ValueError(f"{text!r} has more than {_MAX_DECIMALS} decimal places")
    if value.copy_abs() >= _LIMIT:  # copy_abs, unlike abs(), never rounds to 28 digits
        raise ValueError(f"{text!r} is too large (at most 20 digits before the point)")
    return value if value != 0 else Decimal(0)


def parse_price(text: str) -> Decimal:
    value = parse_amount(text)
    if value < 0:
        raise ValueError(f"{text.strip()!r} is negative; a price is 0 or more")
    return value


def parse_asset_code(text: str) -> str:
    code = text.strip().upper()
    if not code:
        raise ValueError("required: an asset code such as BTC")
    if not _ASSET_CODE.fullmatch(code):
        raise ValueError(
            f"{text.strip()!r} is not an asset code (letters, digits, '.', '-' and '_'; "
            "at most 32 characters)"
        )
    return code


def parse_location_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise ValueError("required: the location's name")
    if len(name) > 120:
        raise ValueError("longer than 120 characters")
    return name


def _parse_choice(text: str, values: list[str], what: str, default: str | None = None) -> str:
    value = text.strip().lower()
    if not value and default is not None:
        return default
    if value not in values:
        allowed = ", ".join(values)
        shown = repr(text.strip()) if value else "empty"
        raise ValueError(f"{shown} is not a {what}; use one of {allowed}")
    return value


def parse_location_kind(text: str) -> str:
    return _parse_choice(text, LocationKind.values, "location kind")


def parse_product(text: str) -> str:
    return _parse_choice(text, Product.values, "product", default=Product.SPOT)


def parse_as_of(text: str, *, now: datetime) -> datetime:
    """ISO 8601; a time without offset is UTC, and an empty cell means now."""
    text = text.strip()
    if not text:
        return now
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value > now + _CLOCK_SKEW:
        raise ValueError(f"{text!r} is in the future")
    return value


def custody_problem(kind: str, has_custodian: bool) -> str | None:
    """Why this kind and custodian cannot go together, or None (see CustodyLocation)."""
    if kind == LocationKind.SELF_CUSTODY and has_custodian:
        return "a self_custody location has no custodian; leave it empty"
    if kind != LocationKind.SELF_CUSTODY and not has_custodian:
        return f"required for a {kind} location: the registry slug of who holds the assets"
    return None


# --- holdings files ------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingRow:
    line: int
    location: str
    location_kind: str
    custodian: str
    asset_code: str
    product: str
    amount: Decimal


@dataclass(frozen=True)
class ParsedHoldings:
    rows: list[HoldingRow]
    errors: list[LineError]


def _parse_holding_row(row: CsvRow, errors: list[LineError]) -> HoldingRow | None:
    found = len(errors)
    location = _cell(row, "location", parse_location_name, errors)
    kind = _cell(row, "location_kind", parse_location_kind, errors)
    # Registry slugs are lower-case; "Anchorage" in a spreadsheet means the same entity.
    custodian = row.values["custodian"].lower()
    if kind is not None and (problem := custody_problem(kind, bool(custodian))):
        errors.append(LineError(row.line, "custodian", problem))
    asset_code = _cell(row, "asset", parse_asset_code, errors)
    product = _cell(row, "product", parse_product, errors)
    amount = _cell(row, "amount", parse_amount, errors)
    # A field that did not parse is None and added an error; the custodian check adds its own.
    if (
        len(errors) > found
        or location is None
        or kind is None
        or asset_code is None
        or product is None
        or amount is None
    ):
        return None
    return HoldingRow(row.line, location, kind, custodian, asset_code, product, amount)


def _custody_conflicts(rows: list[HoldingRow]) -> list[LineError]:
    """A location has one kind and one custodian: every row naming it must agree."""
    first: dict[str, HoldingRow] = {}
    errors = []
    for row in rows:
        seen = first.setdefault(row.location, row)
        if row.location_kind != seen.location_kind:
            message = f"location {row.location!r} is {seen.location_kind} on line {seen.line}"
            errors.append(LineError(row.line, "location_kind", message))
        elif row.custodian != seen.custodian:
            held = seen.custodian or "no custodian"
            message = f"location {row.location!r} has custodian {held} on line {seen.line}"
            errors.append(LineError(row.line, "custodian", message))
    return errors


def _duplicates(rows: list[HoldingRow]) -> list[LineError]:
    seen: dict[tuple[str, str, str], int] = {}
    errors = []
    for row in rows:
        key = (row.location, row.asset_code, row.product)
        if key in seen:
            message = (
                f"duplicate: {row.asset_code} {row.product} at {row.location!r} "
                f"is already on line {seen[key]}"
            )
            errors.append(LineError(row.line, "asset", message))
        seen.setdefault(key, row.line)
    return errors


def parse_holdings_csv(text: str) -> ParsedHoldings:
    """Every row checked on its own and against the others; no database needed."""
    table, errors = read_table(text, required=HOLDINGS_HEADER)
    rows = [row for record in table if (row := _parse_holding_row(record, errors))]
    errors += _custody_conflicts(rows) + _duplicates(rows)
    return ParsedHoldings(rows, sorted(errors, key=lambda error: error.line))


@dataclass
class _Plan:
    """What the database already holds for the rows of a valid file."""

    locations: Mapping[str, CustodyLocation]
    custodians: dict[str, Counterparty]
    assets: dict[str, Asset]
    unknown_assets: dict[str, int]  # code -> first line naming it


def _first_rows(rows: list[HoldingRow]) -> dict[str, HoldingRow]:
    first: dict[str, HoldingRow] = {}
    for row in rows:
        first.setdefault(row.location, row)
    return first


def _location_problem(location: SyncedLocation, row: HoldingRow) -> LineError | None:
    """Why the file may not replace this existing location's holdings, or None."""
    if location.synced:
        message = (
            f"location {row.location!r} is synced from its exchange; it cannot be imported into"
        )
        return LineError(row.line, "location", message)
    if location.kind != row.location_kind:
        message = (
            f"location {row.location!r} is a {location.kind} location, not {row.location_kind}; "
            "an import never changes custody"
        )
        return LineError(row.line, "location_kind", message)
    current = location.custodian.slug if location.custodian else ""
    if current != row.custodian:
        message = (
            f"location {row.location!r} is held by {current or 'no custodian'}, "
            f"not {row.custodian or 'no custodian'}; an import never changes custody"
        )
        return LineError(row.line, "custodian", message)
    return None


def _custodian_errors(
    rows: list[HoldingRow], custodians: dict[str, Counterparty]
) -> list[LineError]:
    errors = []
    for row in rows:
        custodian = custodians.get(row.custodian)
        if row.custodian and custodian is None:
            message = f"{row.custodian!r} is not in the counterparty registry"
            errors.append(LineError(row.line, "custodian", message))
        elif custodian is not None and custodian.kind == CounterpartyKind.GROUP:
            # Claims are on a legal entity; the group is derived from it, never held directly.
            message = f"{row.custodian!r} is a holding group; name the entity that holds the assets"
            errors.append(LineError(row.line, "custodian", message))
    return errors


def _plan_holdings(
    *, portfolio: Portfolio, rows: list[HoldingRow]
) -> tuple[_Plan, list[LineError]]:
    """1. the custodians named must exist; 2. existing locations must accept the file;
    3. asset codes are looked up, and unknown ones set aside to be created."""
    slugs = {row.custodian for row in rows if row.custodian}
    custodians = {c.slug: c for c in Counterparty.objects.filter(slug__in=slugs)}
    errors = _custodian_errors(rows, custodians)
    first = _first_rows(rows)
    synced = ExchangeAccount.objects.filter(location=OuterRef("pk"))
    existing = portfolio.locations.filter(name__in=first).select_related("custodian")
    locations = {loc.name: loc for loc in existing.annotate(synced=Exists(synced))}
    for name, location in locations.items():
        if problem := _location_problem(location, first[name]):
            errors.append(problem)
    codes = {row.asset_code: row.line for row in reversed(rows)}
    assets = {asset.code: asset for asset in Asset.objects.filter(code__in=codes)}
    unknown = {code: line for code, line in codes.items() if code not in assets}
    new_locations = {name: row.line for name, row in first.items() if name not in locations}
    errors += _too_many(new_locations, MAX_NEW_LOCATIONS, "location", "new locations")
    errors += _too_many(unknown, MAX_NEW_ASSETS, "asset", "asset codes not in the registry")
    return _Plan(locations, custodians, assets, unknown), errors


def _too_many(new: dict[str, int], limit: int, field: str, what: str) -> list[LineError]:
    """One error at the first line past the limit of what one file may create."""
    if len(new) <= limit:
        return []
    line = sorted(new.values())[limit]
    message = f"the file names {len(new)} {what}; at most {limit} are created by one file"
    return [LineError(line, field, message)]


def _create_unknown_assets(
    unknown: dict[str, int], *, origin: str, portfolio: Portfolio | None = None
) -> dict[str, Asset]:
    """Unknown codes are kept, unclassified, so that no holding is ever dropped; the
    portfolio whose file named them alone is shown them until an admin classifies them."""
    created = {}
    for code in sorted(unknown):
        created[code], _ = Asset.objects.get_or_create(
            code=code,
            defaults={
                "kind": AssetKind.UNCLASSIFIED,
                "notes": f"First seen in {origin}.",
                "first_seen_in": portfolio,
            },
        )
    return created


def _create_missing_locations(
    *, portfolio: Portfolio, rows: list[HoldingRow], plan: _Plan
) -> dict[str, CustodyLocation]:
    locations = dict(plan.locations)
    for name, row in _first_rows(rows).items():
        if name not in locations:
            locations[name] = CustodyLocation.objects.create(
                portfolio=portfolio,
                name=name,
                kind=row.location_kind,
                custodian=plan.custodians.get(row.custodian),
            )
    return locations


def _write_holdings(
    *, portfolio: Portfolio, rows: list[HoldingRow], plan: _Plan, user: User | None
) -> ImportResult:
    assets = plan.assets | _create_unknown_assets(
        plan.unknown_assets, origin="a CSV import", portfolio=portfolio
    )
    locations = _create_missing_locations(portfolio=portfolio, rows=rows, plan=plan)
    now = timezone.now()
    snapshots = {
        name: HoldingSnapshot.objects.create(
            location=location, taken_at=now, source=SnapshotSource.IMPORT, created_by=user
        )
        for name, location in locations.items()
    }
    # A zero amount records that the location holds none of that asset: no row is stored.
    holdings = Holding.objects.bulk_create(
        Holding(
            snapshot=snapshots[r.location],
            asset=assets[r.asset_code],
            product=r.product,
            amount=r.amount,
        )
        for r in rows
        if r.amount != 0
    )
    return ImportResult(
        warnings=[
            f"line {line}, field asset: {code} was unknown; created as unclassified, "
            "classify it in the admin"
            for code, line in sorted(plan.unknown_assets.items())
        ],
        locations_created=len(locations) - len(plan.locations),
        snapshots_created=len(snapshots),
        holdings_created=len(holdings),
        assets_created=len(plan.unknown_assets),
    )


def _lock(portfolio: Portfolio) -> None:
    # Serialises imports and manual entries on one portfolio (a no-op on SQLite, whose
    # writes are serialised anyway), so two of them cannot both create the same location.
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).first()


def import_holdings(*, portfolio: Portfolio, text: str, user: User | None = None) -> ImportResult:
    """Replace the holdings of every location the file names, or write nothing at all.

    1. parse and check the file on its own; 2. check the rows that parsed against the
    database (custodians, existing locations); 3. only if neither found an error, create
    missing locations and unknown assets, and one snapshot per named location with exactly
    the file's rows.
    """
    parsed = parse_holdings_csv(text)
    with transaction.atomic():
        _lock(portfolio)
        # Rows that parsed are checked against the database too, so that one pass lists all.
        plan, errors = _plan_holdings(portfolio=portfolio, rows=parsed.rows)
        errors += parsed.errors
        if errors:
            return ImportResult(errors=sorted(errors, key=lambda error: error.line))
        result = _write_holdings(portfolio=portfolio, rows=parsed.rows, plan=plan, user=user)
        names = ", ".join(sorted(_first_rows(parsed.rows)))
        summary = f"CSV import of {len(parsed.rows)} rows at {names}"
        _note_change(portfolio_ids=[portfolio.pk], kind="holdings", summary=summary, user=user)
        return result


def _note_change(*, portfolio_ids: list[int], kind: str, summary: str, user: User | None) -> None:
    """The reports of these portfolios recompute after the commit (debounced) and say, until
    then, what changed."""
    from riskmodels.freshness import note_change  # riskmodels reads portfolio
    from riskmodels.models import ChangeKind

    note_change(portfolio_ids=portfolio_ids, kind=ChangeKind(kind), summary=summary, user=user)


# --- prices files --------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceRow:
    line: int
    asset_code: str
    price_usd: Decimal
    as_of: datetime


@dataclass(frozen=True)
class ParsedPrices:
    rows: list[PriceRow]
    errors: list[LineError]


def _parse_price_row(row: CsvRow, now: datetime, errors: list[LineError]) -> PriceRow | None:
    found = len(errors)
    asset_code = _cell(row, "asset", parse_asset_code, errors)
    price = _cell(row, "price_usd", parse_price, errors)
    as_of = _cell(row, "as_of", lambda text: parse_as_of(text, now=now), errors)
    # A field that did not parse is None and added an error.
    if len(errors) > found or asset_code is None or price is None or as_of is None:
        return None
    return PriceRow(row.line, asset_code, price, as_of)


def parse_prices_csv(text: str, *, now: datetime) -> ParsedPrices:
    table, errors = read_table(text, required=PRICES_HEADER, optional=PRICES_OPTIONAL)
    rows = [row for record in table if (row := _parse_price_row(record, now, errors))]
    seen: dict[tuple[str, datetime], int] = {}
    for row in rows:
        key = (row.asset_code, row.as_of)
        if key in seen:
            message = f"duplicate: a price for {row.asset_code} at that time is on line {seen[key]}"
            errors.append(LineError(row.line, "asset", message))
        seen.setdefault(key, row.line)
    return ParsedPrices(rows, sorted(errors, key=lambda error: error.line))


def import_prices(*, text: str) -> ImportResult:
    """Record manual USD prices, all or nothing.

    An unknown asset code is an error here, not a new asset: a price for an asset the fund
    does not hold is most likely a typo, and it would price nothing.
    """
    parsed = parse_prices_csv(text, now=timezone.now())
    codes = {row.asset_code for row in parsed.rows}
    assets = {asset.code: asset for asset in Asset.objects.filter(code__in=codes)}
    errors = parsed.errors + [
        LineError(row.line, "asset", f"unknown asset {row.asset_code!r}; is it a typo?")
        for row in parsed.rows
        if row.asset_code not in assets
    ]
    if errors:
        return ImportResult(errors=sorted(errors, key=lambda error: error.line))
    with transaction.atomic():
        prices = Price.objects.bulk_create(
            Price(
                asset=assets[row.asset_code],
                price_usd=row.price_usd,
                as_of=row.as_of,
                source=MANUAL_PRICE_SOURCE,
                is_manual=True,
            )
            for row in parsed.rows
        )
        _note_change(
            portfolio_ids=_portfolios_holding({asset.pk for asset in assets.values()}),
            kind="prices",
            summary="Manual price" + "s" * (len(parsed.rows) > 1) + ": " + _price_words(parsed),
            user=None,
        )
    return ImportResult(prices_created=len(prices))


def _portfolios_holding(asset_ids: set[int]) -> list[int]:
    from riskmodels.freshness import portfolios_holding  # riskmodels reads portfolio

    return portfolios_holding(asset_ids)


def _price_words(parsed: ParsedPrices) -> str:
    return ", ".join(f"{row.asset_code} {row.price_usd.normalize():f} USD" for row in parsed.rows)


# --- one manual holding --------------------------------------------------------------------


def manual_locations(portfolio: Portfolio) -> QuerySet[CustodyLocation]:
    """Locations whose holdings are entered by hand: all but the exchange-synced ones."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at", "-pk")
    return (
        portfolio.locations.filter(exchange_account__isnull=True)
        .select_related("custodian")
        .annotate(
            last_taken_at=Subquery(latest.values("taken_at")[:1]),
            last_source=Subquery(latest.values("source")[:1]),
        )
        .order_by("name")
    )


@dataclass(frozen=True)
class NewLocation:
    """A location to create along with its first manual holding."""

    name: str
    kind: str
    custodian: Counterparty | None


@dataclass(frozen=True)
class ManualHoldingResult:
    snapshot: HoldingSnapshot
    asset: Asset
    amount: Decimal
    asset_created: bool
    location_created: bool


def _manual_target(
    portfolio: Portfolio, location: CustodyLocation | NewLocation
) -> tuple[CustodyLocation, bool]:
    if isinstance(location, NewLocation):
        if portfolio.locations.filter(name=location.name).exists():
            raise ManualEntryError(f"a location named {location.name!r} already exists")
        if problem := custody_problem(location.kind, location.custodian is not None):
            raise ManualEntryError(f"custodian: {problem}")
        created = CustodyLocation.objects.create(
            portfolio=portfolio,
            name=location.name,
            kind=location.kind,
            custodian=location.custodian,
        )
        return created, True
    if location.portfolio_id != portfolio.pk:
        raise ManualEntryError("this location belongs to another portfolio")
    if ExchangeAccount.objects.filter(location=location).exists():
        raise ManualEntryError(
            f"{location.name} is synced from its exchange; enter nothing by hand"
        )
    return location, False


def _copy_with(
    previous: HoldingSnapshot | None,
    snapshot: HoldingSnapshot,
    *,
    asset: Asset,
    product: str,
    amount: Decimal,
) -> list[Holding]:
    """The previous snapshot's holdings with one row set; an amount of 0 removes the row."""
    kept = [
        Holding(
            snapshot=snapshot,
            asset_id=held.asset_id,
            product=held.product,
            amount=held.amount,
            reported_code=held.reported_code,
        )
        for held in (previous.holdings.all() if previous else [])
        if (held.asset_id, held.product) != (asset.pk, product)
    ]
    if amount != 0:
        kept.append(Holding(snapshot=snapshot, asset=asset, product=product, amount=amount))
    return kept


def set_manual_holding(
    *,
    portfolio: Portfolio,
    location: CustodyLocation | NewLocation,
    asset_code: str,
    product: str,
    amount: Decimal,
    user: User | None,
) -> ManualHoldingResult:
    """Record one holding as a new snapshot of the location: its other holdings carry over."""
    try:
        code, product = parse_asset_code(asset_code), parse_product(product)
        amount = parse_amount(format(amount, "f"))
    except ValueError as error:
        raise ManualEntryError(str(error)) from None
    with transaction.atomic():
        _lock(portfolio)
        target, location_created = _manual_target(portfolio, location)
        asset, asset_created = Asset.objects.get_or_create(
            code=code,
            defaults={"kind": AssetKind.UNCLASSIFIED, "notes": "First seen in a manual entry."},
        )
        previous = target.snapshots.order_by("-taken_at", "-pk").first()
        snapshot = HoldingSnapshot.objects.create(
            location=target, taken_at=timezone.now(), source=SnapshotSource.MANUAL, created_by=user
        )
        rows = _copy_with(previous, snapshot, asset=asset, product=product, amount=amount)
        Holding.objects.bulk_create(rows)
        label = Product(product).label
        what = "removed" if amount == 0 else f"set to {amount.normalize():f}"
        summary = f"{target.name}: {code} ({label}) {what}"
        _note_change(portfolio_ids=[portfolio.pk], kind="holdings", summary=summary, user=user)
    return ManualHoldingResult(snapshot, asset, amount, asset_created, location_created)
