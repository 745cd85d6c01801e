"""Demo data: users for each role, three funds, their locations and starting holdings.

Development only. Safe to run again: rows are matched by their names; passwords are reset
and printed each time so that the person running the demo can log in.
"""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import AccessGrant, AccessLevel, InvestorStake, Role, User
from accounts.services import apply_role
from portfolio.crypto import key_fingerprint
from portfolio.models import (
    Asset,
    Counterparty,
    CustodyLocation,
    ExchangeAccount,
    Holding,
    HoldingSnapshot,
    LocationKind,
    OffExchangeSettlement,
    Portfolio,
    SnapshotSource,
)
from portfolio.services import (
    create_exchange_account,
    save_off_exchange_settlement,
    set_exchange_credentials,
)
from sandbox.rundemo import USERS_FILE  # the runner imports no Django: the name lives there

DEMO_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo.json"
# An account of the scenario whose label starts so is connected to no fund (fund_accounts).
SPARE = "Spare "
DEMO_USERS = (("admin", Role.ADMIN), ("manager", Role.MANAGER), ("investor", Role.INVESTOR))
FUNDS = (
    ("aurora-fund", "Aurora Digital Fund", "Multi-strategy fund; the demo investor holds 25%."),
    ("borealis-fund", "Borealis Opportunities", "Directional fund with a custodian account."),
    ("cascade-fund", "Cascade Derivatives Fund",
     "Derivatives and newer venues: a master key with two desks' sub-accounts, Deribit settled "
     "off exchange through Copper ClearLoop, latoken read by the generic adapter."),
)  # fmt: skip
# Off-exchange settlement: (fund, location name, network, custodian slug, interval hours).
SETTLEMENTS = (("cascade-fund", "Deribit main", "clearloop", "copper", 24),)
# Manual locations: (fund, name, kind, custodian slug, {asset code: amount}).
MANUAL_LOCATIONS = (
    ("aurora-fund", "Cold storage (multisig)", LocationKind.SELF_CUSTODY, None,
     {"BTC": "42.5", "ETH": "610"}),
    ("aurora-fund", "Anchorage custody", LocationKind.CUSTODIAN, "anchorage",
     {"BTC": "18", "USDC": "2500000"}),
    ("borealis-fund", "BitGo custody", LocationKind.CUSTODIAN, "bitgo",
     {"BTC": "12.25", "WBTC": "3", "STETH": "400"}),
    ("borealis-fund", "Ledger wallet", LocationKind.SELF_CUSTODY, None,
     {"ETH": "150", "SOL": "9000"}),
)  # fmt: skip


@transaction.atomic
def seed_demo() -> dict[str, str]:
    """Create or refresh the demo; return each demo user's new password."""
    passwords = {name: _ensure_user(name, role) for name, role in DEMO_USERS}
    funds = {slug: _ensure_fund(slug, name, text) for slug, name, text in FUNDS}
    manager = User.objects.get(username="manager")
    investor = User.objects.get(username="investor")
    for fund in funds.values():
        AccessGrant.objects.update_or_create(
            user=manager, portfolio=fund, defaults={"level": AccessLevel.MANAGE}
        )
    InvestorStake.objects.update_or_create(
        investor=investor, portfolio=funds["aurora-fund"], defaults={"share": Decimal("0.25")}
    )
    for fund_slug, name, kind, custodian, amounts in MANUAL_LOCATIONS:
        _ensure_manual_location(funds[fund_slug], name, kind, custodian, amounts)
    for account in fund_accounts():
        _ensure_exchange_account(funds[_fund_of(account)], account)
    for fund_slug, name, network, custodian, hours in SETTLEMENTS:
        _ensure_settlement(funds[fund_slug], name, network, custodian, hours)
    return passwords


def fund_accounts() -> list[dict[str, Any]]:
    """The demo scenario's accounts that belong to a fund: not the spare one, which the emulator
    serves for whoever tries the Add account form (README, "The two commands")."""
    accounts = json.loads(DEMO_SCENARIO.read_text())["accounts"]
    return [account for account in accounts if not account["label"].startswith(SPARE)]


def users_text(passwords: dict[str, str]) -> str:
    """The demo users with their new passwords, as `make demo` prints them last."""
    lines = ["Demo users (passwords are new on every run):"]
    lines += [f"  {username:<10} {password}" for username, password in passwords.items()]
    return "\n".join(lines) + "\n"


def keep_users_for_later(var_dir: Path, text: str) -> Path:
    """Write the users' text under ``var_dir``, readable by its owner only, for the demo's
    runner to print once the server answers (sandbox.rundemo), which then deletes it."""
    path = var_dir / USERS_FILE
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    return path


def _fund_of(account: dict[str, Any]) -> str:
    """By the label ("Aurora Fund on ..."): an address (hyperliquid's key) names no fund."""
    label = account["label"]
    return next((slug for slug, name, _ in FUNDS if label.startswith(name.split()[0])), "")


def _ensure_exchange_account(fund: Portfolio, account: dict[str, Any]) -> None:
    """One location per emulated account, with the scenario's credentials."""
    name = f"{account['exchange'].capitalize()} main"
    credentials = credentials_of(account)
    # Anywhere: one key is kept in one place (an older demo may hold it in another fund).
    fingerprint = key_fingerprint(account["exchange"], credentials)
    in_place = ExchangeAccount.objects.filter(location__portfolio=fund, location__name=name)
    existing = (
        ExchangeAccount.objects.filter(key_fingerprint=fingerprint).first() or in_place.first()
    )
    if existing is not None:
        set_exchange_credentials(account=existing, credentials=credentials)
        return
    create_exchange_account(
        portfolio=fund,
        name=name,
        exchange_id=account["exchange"],
        credentials=credentials,
        include_subaccounts=bool(account.get("subaccounts")),
    )


def credentials_of(account: dict[str, Any]) -> dict[str, str]:
    """A scenario account's credentials by ccxt's names."""
    if "secret" not in account:  # read by wallet address alone
        return {"walletAddress": account["api_key"]}
    credentials = {"apiKey": account["api_key"], "secret": account["secret"]}
    if account.get("password"):
        credentials["password"] = account["password"]
    return credentials


def demo_account(account: dict[str, Any]) -> ExchangeAccount:
    """The exchange account seed_demo made for a scenario account (found by its key)."""
    fingerprint = key_fingerprint(account["exchange"], credentials_of(account))
    return ExchangeAccount.objects.get(key_fingerprint=fingerprint)


def _ensure_settlement(
    fund: Portfolio, name: str, network: str, custodian: str, hours: int
) -> None:
    account = ExchangeAccount.objects.filter(location__portfolio=fund, location__name=name).first()
    if account is None or OffExchangeSettlement.objects.filter(pk=account.pk).exists():
        return
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    save_off_exchange_settlement(
        account=account,
        network=network,
        custodian=Counterparty.objects.get(slug=custodian),
        interval_hours=hours,
        settled_at=midnight,
    )


def _ensure_user(username: str, role: str) -> str:
    user, _ = User.objects.get_or_create(username=username, defaults={"role": role})
    password = secrets.token_urlsafe(12)
    user.role = role
    user.email = f"{username}@counterweight.test"
    user.set_password(password)
    apply_role(user)
    user.save()
    return password


def _ensure_fund(slug: str, name: str, description: str) -> Portfolio:
    fund, _ = Portfolio.objects.update_or_create(
        slug=slug, defaults={"name": name, "description": description}
    )
    return fund


def _ensure_manual_location(
    fund: Portfolio, name: str, kind: str, custodian: str | None, amounts: dict[str, str]
) -> None:
    holder = Counterparty.objects.get(slug=custodian) if custodian else None
    location, created = CustodyLocation.objects.get_or_create(
        portfolio=fund, name=name, defaults={"kind": kind, "custodian": holder}
    )
    if not created and location.snapshots.exists():
        return
    snapshot = HoldingSnapshot.objects.create(
        location=location, taken_at=timezone.now(), source=SnapshotSource.MANUAL
    )
    Holding.objects.bulk_create(
        Holding(snapshot=snapshot, asset=Asset.objects.get(code=code), amount=Decimal(amount))
        for code, amount in amounts.items()
    )
