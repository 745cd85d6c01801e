from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from accounts.models import AccessGrant, AccessLevel, InvestorStake, Role, User
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
    SnapshotSource,
    SyncOutcome,
    SyncRound,
    SyncRun,
    UnconfirmedDrop,
)
from riskmodels.models import Alert, AlertLevel, ExposureSnapshot, StressScenario, StressShock

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    role = Role.INVESTOR
    password = factory.django.Password(PASSWORD)
    is_staff = factory.LazyAttribute(lambda u: u.role == Role.ADMIN)
    is_superuser = factory.LazyAttribute(lambda u: u.role == Role.ADMIN)


class CounterpartyFactory(factory.django.DjangoModelFactory[Counterparty]):
    class Meta:
        model = Counterparty
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"counterparty-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.title())
    kind = CounterpartyKind.EXCHANGE
    rating_tier = "A"


class AssetFactory(factory.django.DjangoModelFactory[Asset]):
    class Meta:
        model = Asset
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"TKN{n}")
    kind = AssetKind.NATIVE


class PortfolioFactory(factory.django.DjangoModelFactory[Portfolio]):
    class Meta:
        model = Portfolio
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"fund-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())


class LocationFactory(factory.django.DjangoModelFactory[CustodyLocation]):
    class Meta:
        model = CustodyLocation

    portfolio = factory.SubFactory(PortfolioFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    kind = LocationKind.CUSTODIAN
    custodian = factory.SubFactory(CounterpartyFactory, kind=CounterpartyKind.CUSTODIAN)


class SelfCustodyFactory(LocationFactory):
    kind = LocationKind.SELF_CUSTODY
    # factory_boy declares fields as class attributes: None replaces the custodian SubFactory.
    custodian = None  # type: ignore[assignment]


class ExchangeAccountFactory(factory.django.DjangoModelFactory[ExchangeAccount]):
    class Meta:
        model = ExchangeAccount

    location = factory.SubFactory(
        LocationFactory,
        kind=LocationKind.EXCHANGE,
        custodian=factory.SubFactory(CounterpartyFactory, slug="binance"),
    )
    exchange_id = "binance"


class SnapshotFactory(factory.django.DjangoModelFactory[HoldingSnapshot]):
    class Meta:
        model = HoldingSnapshot

    location = factory.SubFactory(LocationFactory)
    taken_at = factory.LazyFunction(timezone.now)
    source = SnapshotSource.MANUAL


class HoldingFactory(factory.django.DjangoModelFactory[Holding]):
    class Meta:
        model = Holding

    snapshot = factory.SubFactory(SnapshotFactory)
    asset = factory.SubFactory(AssetFactory)
    amount = Decimal("1.5")


class PriceFactory(factory.django.DjangoModelFactory[Price]):
    class Meta:
        model = Price

    asset = factory.SubFactory(AssetFactory)
    price_usd = Decimal("100")
    source = "manual"
    is_manual = True
    as_of = factory.LazyFunction(timezone.now)


class SyncRunFactory(factory.django.DjangoModelFactory[SyncRun]):
    class Meta:
        model = SyncRun

    location = factory.SubFactory(LocationFactory)
    started_at = factory.LazyFunction(timezone.now)


class ExposureFactory(factory.django.DjangoModelFactory[ExposureSnapshot]):
    class Meta:
        model = ExposureSnapshot

    portfolio = factory.SubFactory(PortfolioFactory)
    computed_at = factory.LazyFunction(timezone.now)
    nav = Decimal("1000")
    inputs_digest = factory.Sequence(lambda n: f"{n:064d}")
    report = factory.LazyFunction(dict)


class AlertFactory(factory.django.DjangoModelFactory[Alert]):
    class Meta:
        model = Alert

    portfolio = factory.SubFactory(PortfolioFactory)
    rule = "group"
    subject = factory.Sequence(lambda n: f"group-{n}")
    level = AlertLevel.WARN
    value = Decimal("0.21")
    threshold = Decimal("0.20")
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


def grant(user: User, portfolio: Portfolio, level: str = AccessLevel.VIEW) -> AccessGrant:
    return AccessGrant.objects.create(user=user, portfolio=portfolio, level=level)


def stake(investor: User, portfolio: Portfolio, share: str) -> InvestorStake:
    return InvestorStake.objects.create(
        investor=investor, portfolio=portfolio, share=Decimal(share)
    )


# Risk engine integration (riskmodels): holdings books built through the database.


class StressScenarioFactory(factory.django.DjangoModelFactory[StressScenario]):
    class Meta:
        model = "riskmodels.StressScenario"

    name = factory.Sequence(lambda n: f"scenario {n}")


class StressShockFactory(factory.django.DjangoModelFactory[StressShock]):
    class Meta:
        model = "riskmodels.StressShock"

    scenario = factory.SubFactory(StressScenarioFactory)
    fraction = Decimal("0.5")
    asset_kind = AssetKind.EXCHANGE_TOKEN


def exchange(slug: str, tier: str = "A", **extra: object) -> Counterparty:
    """A top-level exchange group (get or create by slug)."""
    return CounterpartyFactory.create(
        slug=slug, kind=CounterpartyKind.EXCHANGE, rating_tier=tier, **extra
    )


def priced(code: str, price: str, kind: str = AssetKind.NATIVE, **extra: object) -> Asset:
    """An asset with one price now."""
    asset = AssetFactory.create(code=code, kind=kind, **extra)
    PriceFactory.create(asset=asset, price_usd=Decimal(price))
    return asset


def book(
    location: CustodyLocation,
    amounts: dict[Asset, str],
    taken_at: object = None,
    product: str = "spot",
) -> HoldingSnapshot:
    """A new snapshot of ``location`` holding ``amounts`` (asset -> amount text)."""
    snapshot = SnapshotFactory.create(location=location, taken_at=taken_at or timezone.now())
    Holding.objects.bulk_create(
        Holding(snapshot=snapshot, asset=asset, product=product, amount=Decimal(amount))
        for asset, amount in amounts.items()
    )
    return snapshot


def worked_check(portfolio: Portfolio, taken_at: object = None) -> dict[str, CustodyLocation]:
    """DESIGN's worked check: Binance 3.0m, Coinbase 2.0m, OKX 1.5m, Kraken 1.0m, self 2.5m.

    Everything in BTC at 50,000 USD.
    """
    btc = priced("BTC", "50000")
    amounts = {"binance": "60", "coinbase": "40", "okx": "30", "kraken": "20"}
    locations = {}
    for slug, amount in amounts.items():
        locations[slug] = LocationFactory.create(
            portfolio=portfolio, name=slug, kind=LocationKind.EXCHANGE, custodian=exchange(slug)
        )
        book(locations[slug], {btc: amount}, taken_at)
    locations["cold"] = SelfCustodyFactory.create(portfolio=portfolio, name="cold")
    book(locations["cold"], {btc: "50"}, taken_at)
    return locations


def computed_exposure(portfolio: Portfolio, **options: Any) -> ExposureSnapshot:
    """compute_exposure for a portfolio that exists, so a snapshot always comes back."""
    from riskmodels.services import compute_exposure

    snapshot = compute_exposure(portfolio_id=portfolio.pk, **options)
    assert snapshot is not None, "the portfolio exists"
    return snapshot


def started_round(portfolio: Portfolio) -> SyncRound:
    """start_sync_round for a portfolio with something to sync."""
    from portfolio.rounds import start_sync_round

    sync_round = start_sync_round(portfolio=portfolio)
    assert sync_round is not None, "the portfolio has exchange accounts"
    return sync_round


def held_drop(location: CustodyLocation) -> UnconfirmedDrop:
    """A read of an empty spot wallet, held for confirmation, as portfolio.sync holds one."""
    from portfolio.drops import Drop, hold_drop

    now = timezone.now()
    run = SyncRunFactory.create(location=location, outcome=SyncOutcome.UNCONFIRMED, finished_at=now)
    drop = Drop(Decimal(1000), Decimal(0), Decimal(1000), "spot wallet 1,000.00 → 0.00 USD")
    return hold_drop(run=run, balances=[], drop=drop, now=now)


# --- branch i15-policy ---


def six_venues(portfolio: Portfolio) -> None:
    """Six tier-A exchanges at 6 % of NAV each and 64 % in self-custody: every rule is ok
    (custody 36 %, third-party HHI 1,666.67), so a tier-A warn under 6 % turns the status warn."""
    btc = priced("BTC", "50000")
    for slug in ("binance", "coinbase", "okx", "kraken", "bitstamp", "gemini"):
        location = LocationFactory.create(
            portfolio=portfolio, name=slug, kind=LocationKind.EXCHANGE, custodian=exchange(slug)
        )
        book(location, {btc: "6"})
    book(SelfCustodyFactory.create(portfolio=portfolio, name="cold"), {btc: "64"})
