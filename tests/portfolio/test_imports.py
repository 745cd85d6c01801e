from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portfolio import imports
from portfolio.imports import (
    CsvFileError,
    ManualEntryError,
    NewLocation,
    decode_csv_bytes,
    import_holdings,
    import_prices,
    parse_holdings_csv,
    set_manual_holding,
)
from portfolio.models import (
    Asset,
    AssetKind,
    CounterpartyKind,
    CustodyLocation,
    Holding,
    HoldingSnapshot,
    LocationKind,
    Price,
    SnapshotSource,
)
from tests.factories import (
    AssetFactory,
    CounterpartyFactory,
    ExchangeAccountFactory,
    HoldingFactory,
    LocationFactory,
    PortfolioFactory,
    SelfCustodyFactory,
    SnapshotFactory,
    UserFactory,
)

HEADER = "location,location_kind,custodian,asset,product,amount\n"
GOOD = (
    HEADER
    + "Anchorage main,custodian,anchorage,BTC,spot,12.345678901234567890\n"
    + "Anchorage main,custodian,anchorage,eth,staking,100\n"
    + "Cold wallet,self_custody,,BTC,,3\n"
)


# What GOOD stores: (location, kind, custodian, asset, product, amount, source).
BTC_AT_ANCHORAGE = Decimal("12.345678901234567890")
GOOD_STORED = [
    ("Anchorage main", "custodian", "anchorage", "BTC", "spot", BTC_AT_ANCHORAGE, "import"),
    ("Anchorage main", "custodian", "anchorage", "ETH", "staking", Decimal("100"), "import"),
    ("Cold wallet", "self_custody", None, "BTC", "spot", Decimal("3"), "import"),
]


@pytest.fixture
def fund(db):
    CounterpartyFactory.create(slug="anchorage", kind=CounterpartyKind.CUSTODIAN)
    AssetFactory.create(code="BTC")
    AssetFactory.create(code="ETH")
    return PortfolioFactory.create(slug="fund")


def holdings_of(location: CustodyLocation) -> dict[tuple[str, str], Decimal]:
    snapshot = location.snapshots.order_by("-taken_at", "-pk").first()
    assert snapshot is not None, f"{location.name} has no snapshot"
    return {(h.asset.code, h.product): h.amount for h in snapshot.holdings.all()}


def stored_holdings(portfolio) -> list[tuple]:
    """Every holding row of the portfolio: location, its kind and custodian, asset, product,
    exact amount, and the snapshot's source, by location then asset."""
    rows = Holding.objects.filter(snapshot__location__portfolio=portfolio).values_list(
        "snapshot__location__name",
        "snapshot__location__kind",
        "snapshot__location__custodian__slug",
        "asset__code",
        "product",
        "amount",
        "snapshot__source",
    )
    return sorted(rows)


def stored_prices() -> list[tuple]:
    rows = Price.objects.values_list("asset__code", "price_usd", "source", "is_manual", "as_of")
    return sorted(rows)


def errors_of(fund, text: str) -> list[str]:
    result = import_holdings(portfolio=fund, text=text)
    assert not result.ok
    return [str(error) for error in result.errors]


# --- holdings: what a good file does ---------------------------------------------------------


def test_good_file_creates_locations_snapshots_and_exact_holdings(fund):
    user = UserFactory.create(username="alice")
    result = import_holdings(portfolio=fund, text=GOOD, user=user)
    assert result.ok, result.errors
    assert (result.locations_created, result.snapshots_created, result.holdings_created) == (
        2,
        2,
        3,
    )
    anchorage = fund.locations.get(name="Anchorage main")
    assert anchorage.kind == LocationKind.CUSTODIAN and anchorage.custodian.slug == "anchorage"
    assert holdings_of(anchorage) == {
        ("BTC", "spot"): Decimal("12.345678901234567890"),
        ("ETH", "staking"): Decimal("100"),
    }
    cold = fund.locations.get(name="Cold wallet")
    assert cold.custodian is None and holdings_of(cold) == {("BTC", "spot"): Decimal("3")}
    snapshot = cold.snapshots.get()
    assert snapshot.source == SnapshotSource.IMPORT and snapshot.created_by == user
    assert anchorage.snapshots.get().created_by == user
    assert stored_holdings(fund) == GOOD_STORED


def test_reimport_replaces_holdings_with_a_new_snapshot_and_keeps_the_old(fund):
    import_holdings(portfolio=fund, text=GOOD)
    again = HEADER + "Anchorage main,custodian,anchorage,BTC,spot,-0.5\n"
    result = import_holdings(portfolio=fund, text=again)
    assert result.ok and result.locations_created == 0
    anchorage = fund.locations.get(name="Anchorage main")
    assert anchorage.snapshots.count() == 2
    assert holdings_of(anchorage) == {("BTC", "spot"): Decimal("-0.5")}
    cold = fund.locations.get(name="Cold wallet")
    assert cold.snapshots.count() == 1  # not in the file: untouched
    assert Holding.objects.filter(snapshot__location=anchorage).count() == 3


def test_zero_amount_stores_no_row(fund):
    import_holdings(portfolio=fund, text=GOOD)
    import_holdings(portfolio=fund, text=HEADER + "Cold wallet,self_custody,,BTC,spot,0\n")
    assert holdings_of(fund.locations.get(name="Cold wallet")) == {}


@pytest.mark.parametrize(
    "amount",
    ["-12345678901234567890.123456789012345678", "99999999999999999999.999999999999999999"],
)
def test_twenty_digits_and_eighteen_decimals_are_kept_exactly(fund, amount):
    import_holdings(portfolio=fund, text=HEADER + f"Cold,self_custody,,BTC,margin,{amount}\n")
    assert holdings_of(fund.locations.get(name="Cold")) == {("BTC", "margin"): Decimal(amount)}


def test_bom_blank_lines_whitespace_and_case_are_tolerated(fund):
    text = (
        "\ufeff Location , LOCATION_KIND,custodian,asset,product,amount\r\n\r\n"
        "  Cold , Self_Custody ,  , btc , SPOT , 1.5 \r\n   \r\n"
    )
    assert import_holdings(portfolio=fund, text=text).ok
    assert stored_holdings(fund) == [
        ("Cold", "self_custody", None, "BTC", "spot", Decimal("1.5"), "import")
    ]


def test_unknown_asset_is_created_unclassified_with_a_warning(fund):
    result = import_holdings(portfolio=fund, text=HEADER + "Cold,self_custody,,newcoin,,7\n")
    assert result.ok and result.assets_created == 1
    assert Asset.objects.get(code="NEWCOIN").kind == AssetKind.UNCLASSIFIED
    assert result.warnings == [
        "line 2, field asset: NEWCOIN was unknown; created as unclassified, "
        "classify it in the admin"
    ]
    assert holdings_of(fund.locations.get(name="Cold")) == {("NEWCOIN", "spot"): Decimal("7")}


# --- holdings: errors name their line and field ----------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Cold,self_custody,,BTC,spot,abc", "line 2, field amount: 'abc' is not a decimal number"),
        ("Cold,self_custody,,BTC,spot,1e5", "line 2, field amount: '1e5' is not a decimal number"),
        ('Cold,self_custody,,BTC,spot,"1,000"', "line 2, field amount: '1,000' is not"),
        ("Cold,self_custody,,BTC,spot,", "line 2, field amount: required"),
        ("Cold,self_custody,,BTC,spot,0.0000000000000000001", "line 2, field amount: '0.0000"),
        ("Cold,self_custody,,BTC,spot,100000000000000000000", "line 2, field amount: '1000"),
        ("Cold,self_custody,,BTC,swap,1", "line 2, field product: 'swap' is not a product"),
        ("Cold,vault,,BTC,spot,1", "line 2, field location_kind: 'vault' is not a location kind"),
        ("Cold,self_custody,,,spot,1", "line 2, field asset: required"),
        ("Cold,self_custody,,BTC/USD,spot,1", "line 2, field asset: 'BTC/USD' is not an asset"),
        (",self_custody,,BTC,spot,1", "line 2, field location: required"),
        ("Cold,self_custody,,BTC,spot", "line 2: 5 fields, expected 6"),
    ],
)
def test_each_bad_field_names_its_line_and_field(fund, row, expected):
    errors = errors_of(fund, HEADER + row + "\n")
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_all_errors_are_collected_and_one_bad_line_imports_nothing(fund):
    text = GOOD + "Cold wallet,self_custody,,BTC,futures,x\n\nCold wallet,self_custody,,ETH,x,1\n"
    assert errors_of(fund, text) == [
        "line 5, field amount: 'x' is not a decimal number (write plain digits such as "
        "-1234.5; no exponent, no thousands separator)",
        "line 7, field product: 'x' is not a product; use one of spot, funding, earn, "
        "staking, margin, futures, options",
    ]
    assert not CustodyLocation.objects.exists() and not HoldingSnapshot.objects.exists()


def test_file_errors_and_database_errors_are_listed_together(fund):
    text = HEADER + "Vault,custodian,fortknox,BTC,,1\nCold,self_custody,,BTC,,1e5\n"
    assert [error.split(":")[0] for error in errors_of(fund, text)] == [
        "line 2, field custodian",
        "line 3, field amount",
    ]


def test_duplicate_location_asset_product_is_an_error(fund):
    text = HEADER + "Cold,self_custody,,BTC,spot,1\nCold,self_custody,,btc,,2\n"
    assert errors_of(fund, text) == [
        "line 3, field asset: duplicate: BTC spot at 'Cold' is already on line 2"
    ]


def test_one_location_with_two_kinds_in_the_file_is_an_error(fund):
    text = HEADER + "Cold,self_custody,,BTC,spot,1\nCold,custodian,anchorage,ETH,spot,2\n"
    assert errors_of(fund, text) == [
        "line 3, field location_kind: location 'Cold' is self_custody on line 2"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "line 1: the file is empty; expected the header location,location_kind,"),
        ("\n  \n", "line 1: the file is empty"),
        (HEADER, "line 1: the file has a header but no rows"),
        (
            "location,custodian,asset,product,amount\nA,,BTC,,1\n",
            "line 1, field location_kind: column missing from the header",
        ),
        (
            HEADER.strip() + ",note\nA,self_custody,,BTC,,1,x\n",
            "line 1, field note: unknown column",
        ),
        (HEADER.strip() + ",amount\n", "line 1, field amount: column appears twice"),
        (
            HEADER + 'A,self_custody,,B,,1\nCold,self_custody,,"BTC,spot,1\n',
            "line 3: not valid CSV",
        ),
    ],
)
def test_file_shape_errors(fund, text, expected):
    errors = errors_of(fund, text)
    assert errors[0].startswith(expected), errors


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"location\n\xe9t\xe9\n", "line 2: the file is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "this is not a CSV file: it contains binary data"),
        ("location".encode("utf-16"), "the file is UTF-16 text"),
    ],
)
def test_unreadable_bytes_are_refused(data, expected):
    with pytest.raises(CsvFileError, match=expected):
        decode_csv_bytes(data)


def test_bom_is_dropped_when_decoding():
    assert decode_csv_bytes("\ufeffa,b\n".encode()) == "a,b\n"


# --- holdings: custody rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Vault,custodian,,BTC,spot,1", "line 2, field custodian: required for a custodian"),
        (
            "Cold,self_custody,anchorage,BTC,spot,1",
            "line 2, field custodian: a self_custody location has no custodian",
        ),
        (
            "Vault,custodian,fortknox,BTC,spot,1",
            "line 2, field custodian: 'fortknox' is not in the counterparty registry",
        ),
    ],
)
def test_custodian_rules(fund, row, expected):
    errors = errors_of(fund, HEADER + row + "\n")
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_a_holding_group_cannot_be_a_custodian(fund):
    CounterpartyFactory.create(slug="binance-group", kind=CounterpartyKind.GROUP)
    assert errors_of(fund, HEADER + "Binance,exchange,binance-group,BTC,,1\n") == [
        "line 2, field custodian: 'binance-group' is a holding group; "
        "name the entity that holds the assets"
    ]


def test_existing_location_with_another_custodian_is_refused(fund):
    CounterpartyFactory.create(slug="bitgo", kind=CounterpartyKind.CUSTODIAN)
    LocationFactory.create(portfolio=fund, name="Vault", custodian__slug="anchorage")
    errors = errors_of(fund, HEADER + "Vault,custodian,bitgo,BTC,spot,1\n")
    assert errors == [
        "line 2, field custodian: location 'Vault' is held by anchorage, not bitgo; "
        "an import never changes custody"
    ]


def test_existing_location_of_another_kind_is_refused(fund):
    SelfCustodyFactory.create(portfolio=fund, name="Vault")
    errors = errors_of(fund, HEADER + "Vault,custodian,anchorage,BTC,spot,1\n")
    assert errors[0].startswith(
        "line 2, field location_kind: location 'Vault' is a self_custody location, not custodian"
    )


def test_exchange_synced_location_is_refused(fund):
    account = ExchangeAccountFactory.create(location__portfolio=fund, location__name="Binance")
    text = HEADER + "Binance,exchange,binance,BTC,spot,1\n"
    assert errors_of(fund, text) == [
        "line 2, field location: location 'Binance' is synced from its exchange; "
        "it cannot be imported into"
    ]
    assert not account.location.snapshots.exists()


def test_exchange_location_without_api_connection_can_be_imported(fund):
    CounterpartyFactory.create(slug="kraken")
    result = import_holdings(portfolio=fund, text=HEADER + "Kraken,exchange,kraken,BTC,,1\n")
    assert result.ok and (result.locations_created, result.holdings_created) == (1, 1)
    assert stored_holdings(fund) == [
        ("Kraken", "exchange", "kraken", "BTC", "spot", Decimal("1"), "import")
    ]


def test_same_name_in_another_portfolio_is_another_location(fund):
    other = SelfCustodyFactory.create(name="Cold")
    assert import_holdings(portfolio=fund, text=HEADER + "Cold,self_custody,,BTC,,1\n").ok
    assert not other.snapshots.exists()
    cold = fund.locations.get(name="Cold")
    assert cold.pk != other.pk
    assert stored_holdings(fund) == [
        ("Cold", "self_custody", None, "BTC", "spot", Decimal("1"), "import")
    ]


def test_parsing_needs_no_database():
    parsed = parse_holdings_csv(HEADER + "Cold,self_custody,,btc,,-2.50\n")
    assert parsed.errors == []
    assert (parsed.rows[0].asset_code, parsed.rows[0].amount) == ("BTC", Decimal("-2.50"))


# --- prices ------------------------------------------------------------------------------------


def test_prices_import_records_manual_prices(fund):
    text = "asset,price_usd,as_of\nbtc,64000.123456789,2024-05-01T12:00:00Z\nETH,3000.5,\n"
    before = timezone.now()
    result = import_prices(text=text)
    after = timezone.now()
    assert result.ok and result.prices_created == 2
    btc = Price.objects.get(asset__code="BTC")
    assert btc.price_usd == Decimal("64000.123456789") and btc.is_manual and btc.source == "manual"
    assert btc.as_of == datetime(2024, 5, 1, 12, tzinfo=UTC)
    eth = Price.objects.get(asset__code="ETH")
    assert (eth.price_usd, eth.source, eth.is_manual) == (Decimal("3000.5"), "manual", True)
    assert before <= eth.as_of <= after
    assert Price.objects.count() == 2


def test_price_without_offset_is_utc_and_as_of_column_is_optional(fund):
    assert import_prices(text="asset,price_usd,as_of\nBTC,1,2024-05-01 08:30\n").ok
    assert Price.objects.get().as_of == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    before = timezone.now()
    assert import_prices(text="asset,price_usd\nETH,2\n").ok
    eth = Price.objects.get(asset__code="ETH")
    assert (eth.price_usd, eth.source, eth.is_manual) == (Decimal("2"), "manual", True)
    assert before <= eth.as_of <= timezone.now()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("BTC,-1,", "line 2, field price_usd: '-1' is negative; a price is 0 or more"),
        ("BTC,1,yesterday", "line 2, field as_of: 'yesterday' is not an ISO 8601 date"),
        ("BTC,1,2024-13-01", "line 2, field as_of: '2024-13-01' is not an ISO 8601 date"),
        ("BTC,abc,", "line 2, field price_usd: 'abc' is not a decimal number"),
        ("BTCC,1,", "line 2, field asset: unknown asset 'BTCC'; is it a typo?"),
    ],
)
def test_price_errors_name_line_and_field(fund, row, expected):
    result = import_prices(text="asset,price_usd,as_of\nETH,2,\n" + row + "\n")
    errors = [str(error) for error in result.errors]
    assert len(errors) == 1 and errors[0].replace("line 3", "line 2").startswith(expected), errors
    assert not Price.objects.exists()


def test_price_in_the_future_is_refused(fund):
    future = (timezone.now() + timedelta(days=2)).isoformat()
    result = import_prices(text=f"asset,price_usd,as_of\nBTC,1,{future}\n")
    assert str(result.errors[0]).startswith("line 2, field as_of:")
    assert str(result.errors[0]).endswith("is in the future")


def test_price_of_zero_is_allowed(fund):
    assert import_prices(text="asset,price_usd\nBTC,0\n").ok
    btc = Price.objects.get()
    assert (btc.asset.code, btc.price_usd, btc.source, btc.is_manual) == (
        "BTC",
        Decimal("0"),
        "manual",
        True,
    )


# --- commands ----------------------------------------------------------------------------------


def test_import_holdings_command_prints_a_summary(fund, tmp_path):
    path = tmp_path / "holdings.csv"
    path.write_text(GOOD + "Cold wallet,self_custody,,ZZZ,,1\n")
    out, err = StringIO(), StringIO()
    call_command("import_holdings", "fund", str(path), stdout=out, stderr=err)
    assert out.getvalue() == (
        "Imported 2 location(s) replaced (2 new), 4 holding(s); 1 new unclassified asset(s).\n"
    )
    assert "ZZZ was unknown" in err.getvalue()
    assert stored_holdings(fund) == [
        *GOOD_STORED,
        ("Cold wallet", "self_custody", None, "ZZZ", "spot", Decimal("1"), "import"),
    ]
    assert Asset.objects.get(code="ZZZ").kind == AssetKind.UNCLASSIFIED


def test_import_holdings_command_fails_with_every_error_on_stderr(fund, tmp_path):
    path = tmp_path / "holdings.csv"
    path.write_text(HEADER + "Cold,self_custody,,BTC,,x\nCold,self_custody,,ETH,,y\n")
    err = StringIO()
    with pytest.raises(CommandError, match=r"2 error\(s\); nothing was imported"):
        call_command("import_holdings", "fund", str(path), stderr=err)
    assert err.getvalue().splitlines()[0].startswith("line 2, field amount: 'x'")
    assert err.getvalue().splitlines()[1].startswith("line 3, field amount: 'y'")
    assert not CustodyLocation.objects.exists() and not HoldingSnapshot.objects.exists()


def test_import_holdings_command_refuses_non_utf8_and_unknown_portfolio(fund, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "Caf\xe9,self_custody,,BTC,,1\n".encode("latin-1"))
    with pytest.raises(CommandError, match="line 2: the file is not UTF-8 text"):
        call_command("import_holdings", "fund", str(path))
    with pytest.raises(CommandError, match="No portfolio 'nope'"):
        call_command("import_holdings", "nope", str(path))


def test_import_prices_command(fund, tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("asset,price_usd\nBTC,64000\n")
    out = StringIO()
    before = timezone.now()
    call_command("import_prices", str(path), stdout=out)
    assert out.getvalue() == "Imported 1 manual price(s).\n"
    [(code, price, source, is_manual, as_of)] = stored_prices()
    assert (code, price, source, is_manual) == ("BTC", Decimal("64000"), "manual", True)
    assert before <= as_of <= timezone.now()


# --- one manual holding ------------------------------------------------------------------------


def _set(fund, location, code: str, amount: str, product: str = "spot"):
    return set_manual_holding(
        portfolio=fund,
        location=location,
        asset_code=code,
        product=product,
        amount=Decimal(amount),
        user=None,
    )


def test_set_manual_holding_copies_the_other_rows_into_a_new_snapshot(fund):
    location = SelfCustodyFactory.create(portfolio=fund, name="Cold")
    old = SnapshotFactory.create(location=location, source=SnapshotSource.IMPORT)
    HoldingFactory.create(snapshot=old, asset=Asset.objects.get(code="BTC"), amount=Decimal("1"))
    HoldingFactory.create(snapshot=old, asset=Asset.objects.get(code="ETH"), amount=Decimal("5"))
    result = _set(fund, location, "eth", "7.25")
    assert result.snapshot.source == SnapshotSource.MANUAL and location.snapshots.count() == 2
    assert holdings_of(location) == {
        ("BTC", "spot"): Decimal("1"),
        ("ETH", "spot"): Decimal("7.25"),
    }
    assert old.holdings.count() == 2


def test_set_manual_holding_to_zero_removes_the_row(fund):
    location = SelfCustodyFactory.create(portfolio=fund, name="Cold")
    _set(fund, location, "BTC", "1")
    _set(fund, location, "ETH", "2", product="staking")
    _set(fund, location, "BTC", "0")
    assert holdings_of(location) == {("ETH", "staking"): Decimal("2")}
    assert location.snapshots.count() == 3


def test_set_manual_holding_creates_a_new_location_and_unknown_asset(fund):
    custodian = CounterpartyFactory.create(slug="anchorage")
    spec = NewLocation(name="Vault", kind=LocationKind.CUSTODIAN, custodian=custodian)
    result = _set(fund, spec, "newcoin", "3")
    assert result.location_created and result.asset_created
    assert result.asset.kind == AssetKind.UNCLASSIFIED
    assert stored_holdings(fund) == [
        ("Vault", "custodian", "anchorage", "NEWCOIN", "spot", Decimal("3"), "manual")
    ]


@pytest.mark.parametrize(
    "spec",
    [
        NewLocation(name="Cold", kind=LocationKind.SELF_CUSTODY, custodian=None),  # name taken
        NewLocation(name="Vault", kind=LocationKind.CUSTODIAN, custodian=None),
    ],
)
def test_set_manual_holding_refuses_bad_new_locations(fund, spec):
    SelfCustodyFactory.create(portfolio=fund, name="Cold")
    with pytest.raises(ManualEntryError):
        _set(fund, spec, "BTC", "1")
    assert not fund.locations.filter(name="Vault").exists()


def test_set_manual_holding_refuses_exchange_synced_and_foreign_locations(fund):
    synced = ExchangeAccountFactory.create(location__portfolio=fund).location
    with pytest.raises(ManualEntryError, match="synced from its exchange"):
        _set(fund, synced, "BTC", "1")
    with pytest.raises(ManualEntryError, match="another portfolio"):
        _set(fund, SelfCustodyFactory.create(), "BTC", "1")
    assert not HoldingSnapshot.objects.exists()


# --- holdings: one file's reach ---------------------------------------------------------------


def _rows(count: int, *, new_assets: bool = False, new_locations: bool = False) -> str:
    lines = [
        f"{f'Cold {n}' if new_locations else 'Cold'},self_custody,,"
        f"{f'NEW{n}' if new_assets else 'BTC'},{'spot' if new_assets or new_locations else n},1"
        for n in range(count)
    ]
    return HEADER + "\n".join(lines) + "\n"


def test_a_file_with_too_many_rows_imports_nothing_and_says_so(fund, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    errors = errors_of(fund, _rows(4, new_assets=True))
    assert errors == ["line 5: the file has 4 rows; at most 3 are read at once: split it"]
    assert not fund.locations.exists()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("assets", "line 4, field asset: the file names 3 asset codes not in the registry; "
         "at most 2 are created by one file"),
        ("locations", "line 4, field location: the file names 3 new locations; "
         "at most 2 are created by one file"),
    ],
)  # fmt: skip
def test_a_file_may_create_only_so_many_assets_and_locations(fund, monkeypatch, kind, expected):
    monkeypatch.setattr(imports, "MAX_NEW_ASSETS", 2)
    monkeypatch.setattr(imports, "MAX_NEW_LOCATIONS", 2)
    text = _rows(3, new_assets=kind == "assets", new_locations=kind == "locations")
    assert expected in errors_of(fund, text)
    assert not Asset.objects.filter(code__startswith="NEW").exists()


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(CsvFileError, match="larger than 2 MB"):
        decode_csv_bytes(b"a" * (imports.MAX_FILE_BYTES + 1))


def test_an_imported_unknown_code_is_shown_only_to_its_portfolio_until_classified(fund):
    other = PortfolioFactory.create(slug="other")
    assert import_holdings(portfolio=fund, text=HEADER + "Cold,self_custody,,secretcoin,,7\n").ok
    visible = {p.slug: set(Asset.objects.visible_to(p).values_list("code", flat=True))
               for p in (fund, other)}  # fmt: skip
    assert "SECRETCOIN" in visible["fund"] and "SECRETCOIN" not in visible["other"]
    assert {"BTC", "ETH"} <= visible["other"]
    # An admin classifies it:
    Asset.objects.filter(code="SECRETCOIN").update(kind=AssetKind.FIAT_STABLECOIN)
    assert Asset.objects.visible_to(other).filter(code="SECRETCOIN").exists()


def test_the_stress_form_lists_only_the_assets_a_portfolio_may_see(fund):
    from riskmodels.stress_forms import target_choices

    other = PortfolioFactory.create(slug="other")
    import_holdings(portfolio=fund, text=HEADER + "Cold,self_custody,,secretcoin,,7\n")
    codes = {label for _, label in dict(target_choices(other)[1:])["Assets"]}
    assert "SECRETCOIN" not in codes and "BTC" in codes
