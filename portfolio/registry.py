"""Load the counterparty and asset registry shipped in registry_data/ into the database.

Safe to run again: rows are matched by slug or code and updated, never duplicated. Each row
keeps a digest of the registry values it was last loaded with; a row whose values no longer
match that digest was changed by an admin since, and is left as the admin set it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Model

from portfolio import exchanges
from portfolio.models import (
    Asset,
    AssetKind,
    Counterparty,
    CounterpartyKind,
    CounterpartyStatus,
    RatingTier,
)

M = TypeVar("M", bound=Model)

REGISTRY_DIR = Path(__file__).resolve().parent / "registry_data"
COUNTERPARTY_FIELDS = (
    "name", "legal_name", "kind", "parent", "jurisdiction",
    "rating_tier", "rating_note", "status", "notes",
)  # fmt: skip
ASSET_FIELDS = ("name", "kind", "issuer", "underlying", "notes")
COUNTERPARTY_DEFAULTS = {
    "legal_name": "", "parent": None, "jurisdiction": "", "rating_tier": RatingTier.UNRATED,
    "rating_note": "", "status": CounterpartyStatus.OPERATING, "notes": "",
}  # fmt: skip
# Starts the rating note of an exchange counterparty made when an account was added: the loader
# may classify such a row (it has no digest, yet no admin made it).
UNCLASSIFIED_NOTE = "Not classified: created when an account on this exchange was added."
ASSET_DEFAULTS = {"name": "", "issuer": None, "underlying": None, "notes": ""}


class RegistryError(Exception):
    """The registry files contradict themselves (an unknown parent, issuer or underlying)."""


@dataclass
class LoadReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)
    # Exchange rows by the adapter that reads them: "dedicated", "generic" or "" (none).
    readers: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items())]
        text = ", ".join(parts) or "nothing to load"
        if self.kept:
            text += f"; kept as an admin edited them: {', '.join(self.kept)}"
        return text + self.readers_summary()

    def readers_summary(self) -> str:
        if not self.readers:
            return ""
        by_reader: dict[str, list[str]] = {}
        for slug, reader in sorted(self.readers.items()):
            by_reader.setdefault(reader or "no adapter", []).append(slug)
        words = {"dedicated": "dedicated adapter", "generic": "generic adapter (spot only)"}
        parts = [f"{words.get(k, k)}: {', '.join(v)}" for k, v in sorted(by_reader.items())]
        return "; exchanges read by " + "; ".join(parts)


def digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def read_registry(directory: Path = REGISTRY_DIR) -> tuple[list[dict], list[dict]]:
    counterparties = json.loads((directory / "counterparties.json").read_text())["counterparties"]
    assets = json.loads((directory / "assets.json").read_text())["assets"]
    return counterparties, assets


def in_dependency_order(entries: list[dict], key: str, ref: str) -> list[dict]:
    """Entries ordered so that the one an entry refers to (its parent) comes before it."""
    by_key = {entry[key]: entry for entry in entries}
    ordered: list[dict] = []
    placed: set[str] = set()

    def place(entry: dict, path: tuple[str, ...]) -> None:
        if entry[key] in placed:
            return
        target = entry.get(ref)
        if target in path:
            raise RegistryError(f"{entry[key]}: {ref} cycle through {target}")
        if target and target in by_key:
            place(by_key[target], (*path, entry[key]))
        ordered.append(entry)
        placed.add(entry[key])

    for entry in entries:
        place(entry, ())
    return ordered


@transaction.atomic
def load_registry(directory: Path = REGISTRY_DIR) -> LoadReport:
    counterparties, assets = read_registry(directory)
    report = LoadReport()
    for entry in in_dependency_order(counterparties, "slug", "parent"):
        _load_counterparty(entry, report)
        if entry.get("kind") == CounterpartyKind.EXCHANGE:
            report.readers[entry["slug"]] = exchanges.reader(entry["slug"])
    for entry in in_dependency_order(assets, "code", "underlying"):
        _load_asset(entry, report)
    return report


def _registry_values(entry: dict, names: tuple[str, ...], defaults: dict) -> dict[str, Any]:
    return {name: entry.get(name, defaults.get(name)) for name in names}


def _counterparty_values(row: Counterparty) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in COUNTERPARTY_FIELDS if name != "parent"}
    values["parent"] = row.parent.slug if row.parent is not None else None
    return values


def _asset_values(row: Asset) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in ("name", "kind", "notes")}
    values["issuer"] = row.issuer.slug if row.issuer is not None else None
    values["underlying"] = row.underlying.code if row.underlying is not None else None
    return values


def _lookup(model: type[M], field_name: str, value: str | None, owner: str) -> M | None:
    if value is None:
        return None
    try:
        return model._default_manager.get(**{field_name: value})
    except ObjectDoesNotExist:  # the model's own DoesNotExist: .get raises no other
        raise RegistryError(f"{owner}: unknown {model.__name__} {value!r}") from None


def _decide(row_digest: str, current: str, wanted: str, admin_owned: bool) -> str:
    """created/updated/unchanged/kept for a row, from what it holds and what the registry says."""
    if admin_owned or (row_digest and current != row_digest):
        return "kept"
    return "unchanged" if current == wanted else "updated"


def _load_counterparty(entry: dict, report: LoadReport) -> None:
    wanted = _registry_values(entry, COUNTERPARTY_FIELDS, COUNTERPARTY_DEFAULTS)
    row = Counterparty.objects.select_related("parent").filter(slug=entry["slug"]).first()
    if row is None:
        row, outcome = Counterparty(slug=entry["slug"]), "created"
    else:
        # A row without a digest was made by hand before the registry listed it: the admin's,
        # unless adding an account created it unclassified: the registry may classify that.
        admin_owned = not row.registry_digest and not is_unclassified_exchange(row)
        current = digest(_counterparty_values(row))
        outcome = _decide(row.registry_digest, current, digest(wanted), admin_owned)
    _apply(row, wanted, outcome, report, entry["slug"])


def is_unclassified_exchange(row: Counterparty) -> bool:
    """Created unrated when an account on an exchange the registry lacks was added."""
    return row.rating_note.startswith(UNCLASSIFIED_NOTE)


def _load_asset(entry: dict, report: LoadReport) -> None:
    wanted = _registry_values(entry, ASSET_FIELDS, ASSET_DEFAULTS)
    row = Asset.objects.select_related("issuer", "underlying").filter(code=entry["code"]).first()
    if row is None:
        row, outcome = Asset(code=entry["code"]), "created"
    else:
        # A sync creates unknown codes as unclassified, without a digest: the registry may
        # classify those; any other row without a digest was made by an admin.
        admin_owned = not row.registry_digest and row.kind != AssetKind.UNCLASSIFIED
        current = digest(_asset_values(row))
        outcome = _decide(row.registry_digest, current, digest(wanted), admin_owned)
    _apply(row, wanted, outcome, report, entry["code"])


def _apply(
    row: Counterparty | Asset, wanted: dict, outcome: str, report: LoadReport, key: str
) -> None:
    report.outcomes[outcome] += 1
    if outcome == "kept":
        report.kept.append(key)
    if outcome not in ("created", "updated"):
        return
    for name, value in wanted.items():
        setattr(row, name, _resolve(name, value, key))
    row.registry_digest = digest(wanted)
    row.full_clean(validate_unique=False, validate_constraints=False)
    row.save()


def _resolve(name: str, value: Any, owner: str) -> Any:
    if name == "parent":
        return _lookup(Counterparty, "slug", value, owner)
    if name == "issuer":
        return _lookup(Counterparty, "slug", value, owner)
    if name == "underlying":
        return _lookup(Asset, "code", value, owner)
    return value
