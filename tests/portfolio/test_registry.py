from __future__ import annotations

import json
import shutil
from pathlib import Path

import ccxt
import pytest
from django.core.management import call_command

from portfolio.exchanges import ADAPTERS, display_name, is_known_exchange
from portfolio.models import Asset, AssetKind, Counterparty, CounterpartyKind
from portfolio.registry import REGISTRY_DIR, RegistryError, load_registry

EXCHANGE_TOKENS = {"BNB", "OKB", "FTT", "CRO", "LEO", "KCS", "GT", "HT", "BGB"}
NAMED_EXCHANGES = {
    "binance", "binanceus", "coinbase", "kraken", "okx", "bybit", "kucoin", "bitfinex",
    "gemini", "bitstamp", "cryptocom", "gate", "htx", "bitget", "deribit", "ftx",
}  # fmt: skip


@pytest.fixture
def registry(db):
    load_registry()


def _group(slug: str) -> str:
    return Counterparty.objects.get(slug=slug).group.slug


def test_registry_holds_the_named_exchanges_with_ccxt_ids(registry):
    exchanges = set(
        Counterparty.objects.filter(kind=CounterpartyKind.EXCHANGE).values_list("slug", flat=True)
    )
    assert NAMED_EXCHANGES <= exchanges
    assert len(exchanges) >= 15
    assert all(is_known_exchange(slug) for slug in exchanges - {"ftx"})  # FTX left ccxt


def test_entities_roll_up_to_their_groups(registry):
    assert _group("binance") == _group("binanceus") == "binance-group"
    assert _group("coinbase") == _group("coinbase-custody") == "coinbase-global"
    assert _group("kraken") == "payward"
    assert _group("bitfinex") == "ifinex"
    assert _group("bybit") == "bybit"  # no parent: its own group


def test_ftx_is_insolvent(registry):
    ftx = Counterparty.objects.get(slug="ftx")
    assert (ftx.status, ftx.rating_tier) == ("insolvent", "D")


def test_assets_carry_kind_issuer_and_underlying(registry):
    assert Asset.objects.count() >= 40
    assert (
        set(Asset.objects.filter(kind=AssetKind.EXCHANGE_TOKEN).values_list("code", flat=True))
        >= EXCHANGE_TOKENS
    )
    wbtc = Asset.objects.get(code="WBTC")
    assert (wbtc.issuer.slug, wbtc.underlying.code) == ("bitgo", "BTC")
    steth = Asset.objects.get(code="STETH")
    assert (steth.kind, steth.issuer.slug, steth.underlying.code) == (
        "liquid_staking",
        "lido",
        "ETH",
    )
    assert Asset.objects.get(code="BTC").issuer is None
    assert Asset.objects.get(code="USDC").issuer.slug == "circle"
    assert Asset.objects.get(code="BNB").issuer.group.slug == "binance-group"


def test_every_default_tier_says_where_it_comes_from(registry):
    assert not Counterparty.objects.filter(rating_note="").exists()


def test_loading_again_duplicates_nothing(registry):
    counts = (Counterparty.objects.count(), Asset.objects.count())
    report = load_registry()
    assert (Counterparty.objects.count(), Asset.objects.count()) == counts
    assert set(report.outcomes) == {"unchanged"}


def test_reload_keeps_what_an_admin_changed(registry):
    Counterparty.objects.filter(slug="binance").update(rating_tier="C", rating_note="Our call")
    report = load_registry()
    binance = Counterparty.objects.get(slug="binance")
    assert (binance.rating_tier, binance.rating_note) == ("C", "Our call")
    assert "binance" in report.kept


def _edited_registry(tmp_path: Path, slug: str, **changes: str) -> Path:
    shutil.copytree(REGISTRY_DIR, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "counterparties.json"
    data = json.loads(path.read_text())
    entry = next(e for e in data["counterparties"] if e["slug"] == slug)
    entry.update(changes)
    path.write_text(json.dumps(data))
    return tmp_path


def test_reload_applies_registry_changes_to_untouched_rows(registry, tmp_path):
    directory = _edited_registry(tmp_path, "bybit", jurisdiction="Somewhere new")
    report = load_registry(directory)
    assert Counterparty.objects.get(slug="bybit").jurisdiction == "Somewhere new"
    assert report.outcomes["updated"] == 1


def test_registry_does_not_overwrite_admin_edit_even_when_registry_changes(registry, tmp_path):
    Counterparty.objects.filter(slug="bybit").update(rating_tier="D")
    load_registry(_edited_registry(tmp_path, "bybit", rating_tier="A"))
    assert Counterparty.objects.get(slug="bybit").rating_tier == "D"


def test_unclassified_asset_made_by_a_sync_gets_classified(db):
    Asset.objects.create(code="BNB", kind=AssetKind.UNCLASSIFIED)
    load_registry()
    assert Asset.objects.get(code="BNB").kind == AssetKind.EXCHANGE_TOKEN


def test_unknown_parent_is_a_clear_error_and_loads_nothing(db, tmp_path):
    directory = _edited_registry(tmp_path, "kraken", parent="no-such-group")
    with pytest.raises(RegistryError, match="kraken: unknown Counterparty 'no-such-group'"):
        load_registry(directory)
    assert not Counterparty.objects.exists()


def test_management_command_reports_counts(db, capsys):
    call_command("load_registry")
    assert "created" in capsys.readouterr().out
    call_command("load_registry")
    assert "unchanged" in capsys.readouterr().out


def test_the_registry_says_which_adapter_reads_each_exchange_row(db):
    report = load_registry()
    rows = set(
        Counterparty.objects.filter(kind=CounterpartyKind.EXCHANGE).values_list("slug", flat=True)
    )
    assert set(report.readers) == rows  # the rated rows only: no row per ccxt exchange
    assert {s for s, r in report.readers.items() if r == "dedicated"} == {
        "binance", "kraken", "okx", "coinbase", "bybit", "hyperliquid", "kucoin", "bitfinex",
        "gemini", "bitget", "gate", "cryptocom", "bitstamp", "deribit", "krakenfutures", "mexc",
        "htx",
    }  # fmt: skip
    assert report.readers["upbit"] == "generic"
    assert report.readers["ftx"] == ""
    dedicated = (
        "binance, bitfinex, bitget, bitstamp, bybit, coinbase, cryptocom, deribit, gate, gemini, "
        "htx, hyperliquid, kraken, krakenfutures, kucoin, mexc, okx"
    )
    assert f"exchanges read by dedicated adapter: {dedicated}" in report.summary()
    assert "no adapter: ftx" in report.summary()


def test_every_ccxt_exchange_has_a_display_name():
    for exchange_id in ccxt.exchanges:
        expected = ADAPTERS[exchange_id].name if exchange_id in ADAPTERS else None
        assert display_name(exchange_id) == (expected or getattr(ccxt, exchange_id)().name)
    assert display_name("cryptocom") == "Crypto.com Exchange"  # ours, the counterparty's name
    assert display_name("kucoin") == "KuCoin"
    assert display_name("okx") == "OKX"
