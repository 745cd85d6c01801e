"""Counterparties, assets, portfolios, where their assets sit, and what the syncs found there."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from portfolio.fields import ExactDecimalField


class DecimalSize(TypedDict):
    """A DecimalField's size, as keyword arguments: typed so that `**AMOUNT` type-checks."""

    max_digits: int
    decimal_places: int


# Wide enough for 18 decimals (wei-scale amounts) on balances of up to 10^20 units.
AMOUNT: Final[DecimalSize] = {"max_digits": 38, "decimal_places": 18}


class CounterpartyKind(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    CUSTODIAN = "custodian", "Custodian"
    ISSUER = "issuer", "Issuer"
    PROTOCOL = "protocol", "Protocol"
    BANK = "bank", "Bank"
    GROUP = "group", "Holding group"


class RatingTier(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    UNRATED = "unrated", "Unrated"


class CounterpartyStatus(models.TextChoices):
    OPERATING = "operating", "Operating"
    WITHDRAWALS_HALTED = "withdrawals_halted", "Withdrawals halted"
    INSOLVENT = "insolvent", "Insolvent"


class Counterparty(models.Model):
    """A legal entity; `parent` links it to its group, where limits apply by default."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    legal_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=CounterpartyKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="entities"
    )
    jurisdiction = models.CharField(max_length=80, blank=True)
    rating_tier = models.CharField(
        max_length=8, choices=RatingTier.choices, default=RatingTier.UNRATED
    )
    rating_note = models.TextField(blank=True)
    status = models.CharField(
        max_length=24, choices=CounterpartyStatus.choices, default=CounterpartyStatus.OPERATING
    )
    notes = models.TextField(blank=True)
    # Digest of the registry values last loaded; differs from the row when an admin edited it.
    registry_digest = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "counterparties"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=CounterpartyKind.values), name="counterparty_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(rating_tier__in=RatingTier.values), name="counterparty_tier_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CounterpartyStatus.values),
                name="counterparty_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="counterparty_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        seen = {self.pk}
        parent = self.parent
        while parent is not None:
            if parent.pk in seen:
                raise ValidationError({"parent": "A counterparty cannot be its own ancestor."})
            seen.add(parent.pk)
            parent = parent.parent

    @property
    def group(self) -> Counterparty:
        """The top-level group: limits apply here unless an admin sets one per entity."""
        node = self
        # No query for a missing parent: the descriptor sees the empty parent_id.
        while node.parent is not None:
            node = node.parent
        return node


class AssetKind(models.TextChoices):
    NATIVE = "native", "Native coin"
    FIAT_STABLECOIN = "fiat_stablecoin", "Fiat-backed stablecoin"
    CRYPTO_STABLECOIN = "crypto_stablecoin", "Crypto-collateralised stablecoin"
    ALGO_STABLECOIN = "algo_stablecoin", "Algorithmic or synthetic stablecoin"
    EXCHANGE_TOKEN = "exchange_token", "Exchange token"
    WRAPPED = "wrapped", "Wrapped token"
    LIQUID_STAKING = "liquid_staking", "Liquid-staking token"
    FIAT = "fiat", "Fiat currency"
    OTHER = "other", "Other"
    UNCLASSIFIED = "unclassified", "Unclassified"


class AssetQuerySet(models.QuerySet["Asset"]):
    def visible_to(self, portfolio: Portfolio) -> AssetQuerySet:
        """Registry and classified assets, and the unclassified ones this portfolio introduced."""
        return self.filter(
            Q(first_seen_in__isnull=True)
            | Q(first_seen_in=portfolio)
            | ~Q(kind=AssetKind.UNCLASSIFIED)
        )


class Asset(models.Model):
    """A currency code as ccxt reports it after normalisation; unknown codes stay, unclassified."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120, blank=True)
    kind = models.CharField(
        max_length=24, choices=AssetKind.choices, default=AssetKind.UNCLASSIFIED
    )
    issuer = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="issued_assets"
    )
    underlying = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derivatives"
    )
    notes = models.TextField(blank=True)
    registry_digest = models.CharField(max_length=64, blank=True, editable=False)
    # The portfolio whose file introduced this code: until an admin classifies it, other
    # tenants are not shown it (a code can say what a fund holds).
    first_seen_in = models.ForeignKey(
        "Portfolio",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AssetKind.values), name="asset_kind_valid"),
            models.CheckConstraint(
                condition=~Q(underlying=models.F("pk")), name="asset_not_own_underlying"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Portfolio(models.Model):
    """A fund or a separately managed account. Everything is valued in USD."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    base_currency = models.CharField(max_length=8, default="USD", editable=False)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(base_currency="USD"), name="portfolio_base_currency_usd"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LocationKind(models.TextChoices):
    EXCHANGE = "exchange", "Exchange account"
    CUSTODIAN = "custodian", "Custodian account"
    SELF_CUSTODY = "self_custody", "Self-custody wallet"
    DEFI = "defi", "DeFi position"
    BANK = "bank", "Bank account"


class WalletType(models.TextChoices):
    HARDWARE = "hardware", "Hardware"
    MULTISIG = "multisig", "Multisig"
    HOT = "hot", "Hot wallet"


class CustodyLocation(models.Model):
    """Where assets sit; the custodian is whom the fund has a claim on (none for self-custody)."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=LocationKind.choices)
    custodian = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="locations"
    )
    wallet_type = models.CharField(max_length=16, choices=WalletType.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["portfolio", "name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="location_name_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=LocationKind.values), name="location_kind_valid"
            ),
            # A custodian on every location but self-custody, and none on self-custody.
            models.CheckConstraint(
                condition=(Q(kind=LocationKind.SELF_CUSTODY) & Q(custodian__isnull=True))
                | (~Q(kind=LocationKind.SELF_CUSTODY) & Q(custodian__isnull=False)),
                name="location_custodian_unless_self_custody",
            ),
            models.CheckConstraint(
                condition=Q(wallet_type="") | Q(kind=LocationKind.SELF_CUSTODY),
                name="location_wallet_type_only_self_custody",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio.slug}/{self.name}"

    def clean(self) -> None:
        if self.kind == LocationKind.SELF_CUSTODY and self.custodian_id is not None:
            raise ValidationError({"custodian": "A self-custody wallet has no custodian."})
        if self.kind != LocationKind.SELF_CUSTODY and self.custodian_id is None:
            raise ValidationError({"custodian": "Name who holds the assets for this location."})


class Wallet(models.TextChoices):
    SPOT = "spot", "Spot"
    FUNDING = "funding", "Funding"
    EARN = "earn", "Earn / savings / staking"
    MARGIN = "margin", "Margin"
    FUTURES = "futures", "Futures"
    OPTIONS = "options", "Options"


def default_wallets() -> list[str]:
    return list(Wallet.values)


def validate_exchange_id(value: str) -> None:
    from portfolio.exchanges import is_known_exchange  # ccxt is imported there only

    if not is_known_exchange(value):
        raise ValidationError(f"{value!r} is not a ccxt exchange id.")


class ExchangeAccount(models.Model):
    """An exchange location with credentials. Credentials are Fernet tokens, never plain text."""

    location = models.OneToOneField(
        CustodyLocation, primary_key=True, on_delete=models.CASCADE, related_name="exchange_account"
    )
    exchange_id = models.CharField(max_length=40, validators=[validate_exchange_id])
    credentials_encrypted = models.TextField(blank=True, editable=False)
    credentials_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    wallets = models.JSONField(default=default_wallets)
    # Set when the exchange rejected the key (authentication or permission); cleared on change.
    credentials_broken_at = models.DateTimeField(null=True, blank=True, editable=False)
    credentials_error = models.TextField(blank=True, editable=False)
    key_permissions = models.JSONField(default=dict, blank=True, editable=False)
    # Why the last answer about the key's permissions could not be read: the flags above are
    # then the last known ones, and the page says they may be out of date.
    key_permissions_problem = models.TextField(blank=True, editable=False)
    # Which exchange account the key opens (a keyed hash of the exchange and the key): the same
    # one in two places would count the same money twice. "" for sub-accounts (the master's).
    key_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # A master key with read access: its sync also lists its sub-accounts, each kept as a
    # location of its own (master set, subaccount the exchange's id for it).
    include_subaccounts = models.BooleanField(default=False)
    master = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="subaccount_accounts"
    )
    subaccount = models.CharField(max_length=120, blank=True, editable=False)
    # Set when the master's listing no longer has it: its last snapshot stays, not current.
    subaccount_missing_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key_fingerprint"],
                condition=~Q(key_fingerprint=""),
                name="exchangeaccount_one_place_per_key",
            ),
            models.UniqueConstraint(
                fields=["master", "subaccount"],
                condition=Q(master__isnull=False),
                name="exchangeaccount_subaccount_once",
            ),
            models.CheckConstraint(
                condition=(Q(master__isnull=True) & Q(subaccount=""))
                | (Q(master__isnull=False) & ~Q(subaccount="") & Q(include_subaccounts=False)),
                name="exchangeaccount_subaccount_has_master",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id}: {self.location}"

    @property
    def is_subaccount(self) -> bool:
        return self.master_id is not None

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    @property
    def exchange_name(self) -> str:
        from portfolio.exchanges import display_name  # ccxt is imported there only

        return display_name(self.exchange_id)

    @property
    def partial_read(self) -> str:
        """What a sync of this exchange leaves unread, in words; "" for a dedicated adapter
        (its wallets are chosen on the form)."""
        from portfolio.exchanges import GENERIC_NOT_READ, reader

        if reader(self.exchange_id) != "generic":
            return ""
        return f"Read by the generic adapter: {GENERIC_NOT_READ}."

    @property
    def permission_warning(self) -> str:
        """Words for a key that can do more than read, as far as the exchange reports it."""
        powers = [name for name in ("trade", "withdraw") if self.key_permissions.get(name)]
        if not powers:
            return ""
        return (
            f"This API key can {' and '.join(powers)}. Counterweight only reads balances: "
            "replace it with a read-only key."
        )

    def clean(self) -> None:
        unknown = set(self.wallets or []) - set(Wallet.values)
        if unknown:
            raise ValidationError(
                {"wallets": f"Unknown wallet types: {', '.join(sorted(unknown))}"}
            )
        from portfolio.exchanges import subaccount_exchanges, supports_subaccounts

        if self.include_subaccounts and not supports_subaccounts(self.exchange_id):
            names = ", ".join(subaccount_exchanges().values()) or "none yet"
            raise ValidationError(
                {"include_subaccounts": f"Sub-accounts can be read for: {names}."}
            )


class Product(models.TextChoices):
    SPOT = "spot", "Spot"
    FUNDING = "funding", "Funding"
    EARN = "earn", "Earn / lending"
    STAKING = "staking", "Staking"
    MARGIN = "margin", "Margin"
    FUTURES = "futures", "Futures"
    OPTIONS = "options", "Options"


class SnapshotSource(models.TextChoices):
    SYNC = "sync", "Exchange sync"
    MANUAL = "manual", "Manual entry"
    IMPORT = "import", "CSV import"


class SettlementNetwork(models.TextChoices):
    CLEARLOOP = "clearloop", "Copper ClearLoop"
    FIREBLOCKS = "fireblocks", "Fireblocks Off Exchange"
    MIRRORX = "mirrorx", "Ceffu MirrorX"
    TRI_PARTY = "tri_party", "Tri-party bank"
    OTHER = "other", "Other"


class OffExchangeSettlement(models.Model):
    """An exchange account settled off exchange: the collateral stays with `custodian` and the
    exchange mirrors it; profit is swept to the custodian every `interval_hours` from
    `settled_at`. Until then it is still owed by the exchange ("only collateral funds are
    retrievable; unsettled profits on the exchange are not secured": Fireblocks).

    The exposure report splits the account's balance in two legs: the collateral, the balance
    at the last settlement (as far as it is still there), against the custodian; the rest, the
    unsettled profit, against the exchange."""

    account = models.OneToOneField(
        "ExchangeAccount", primary_key=True, on_delete=models.CASCADE, related_name="settlement"
    )
    network = models.CharField(max_length=16, choices=SettlementNetwork.choices)
    custodian = models.ForeignKey(
        Counterparty, on_delete=models.PROTECT, related_name="settled_accounts"
    )
    interval_hours = models.PositiveIntegerField(help_text="Hours between two settlements.")
    settled_at = models.DateTimeField(help_text="A settlement's time; the next are at intervals.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_hours__gte=1) & Q(interval_hours__lte=24 * 31),
                name="settlement_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()} via {self.custodian}"

    def last_settlement(self, now: datetime) -> datetime | None:
        """The latest settlement at or before `now`; None before the first."""
        if now < self.settled_at:
            return None
        step = timedelta(hours=self.interval_hours)
        return self.settled_at + ((now - self.settled_at) // step) * step


class HoldingSnapshot(models.Model):
    """Everything one location held at one moment. Only successful syncs or entries make one."""

    location = models.ForeignKey(
        CustodyLocation, on_delete=models.CASCADE, related_name="snapshots"
    )
    taken_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=SnapshotSource.choices)
    sync_run = models.OneToOneField(
        "SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshot"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        get_latest_by = "taken_at"
        indexes = [models.Index(fields=["location", "-taken_at"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.location} at {self.taken_at:%Y-%m-%d %H:%M}"


class Holding(models.Model):
    """An amount of one asset in one product; debts (margin borrowings) are negative."""

    snapshot = models.ForeignKey(HoldingSnapshot, on_delete=models.CASCADE, related_name="holdings")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="holdings")
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.SPOT)
    amount = ExactDecimalField(**AMOUNT)
    # The code as the exchange reported it (e.g. Kraken's ETH2.S) before normalisation.
    reported_code = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "asset", "product"], name="holding_unique_per_snapshot"
            ),
            models.CheckConstraint(
                condition=Q(product__in=Product.values), name="holding_product_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset.code} ({self.product})"


class HoldingLock(models.Model):
    """Part of a holding that cannot be withdrawn before a date the exchange reported (locked
    earn or staking, an unbonding period). Several per holding when tranches end apart."""

    snapshot = models.ForeignKey(HoldingSnapshot, on_delete=models.CASCADE, related_name="locks")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=8, choices=Product.choices)
    amount = ExactDecimalField(**AMOUNT)
    unlocks_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "asset", "product", "unlocks_at"], name="lock_unique_per_date"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="lock_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset.code} ({self.product}) until {self.unlocks_at:%Y-%m-%d}"


class Price(models.Model):
    """A USD price of an asset at a time, from an exchange's tickers or entered by hand.

    A quote a sync refused (it could not be stored exactly, or it jumped too far from the last
    price) is kept as a price row without a price and with the reason: the asset is then
    unpriced, with that reason, until a later quote or a manual price is accepted. Never zero.
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="prices")
    price_usd = ExactDecimalField(**AMOUNT, null=True, blank=True)
    source = models.CharField(max_length=40)
    is_manual = models.BooleanField(default=False)
    as_of = models.DateTimeField()
    refused_reason = models.TextField(blank=True)

    class Meta:
        get_latest_by = "as_of"
        indexes = [models.Index(fields=["asset", "-as_of"], name="price_latest")]
        constraints = [
            models.CheckConstraint(condition=Q(price_usd__gte=0), name="price_not_negative"),
            models.CheckConstraint(
                condition=(Q(price_usd__isnull=True) & ~Q(refused_reason=""))
                | (Q(price_usd__isnull=False) & Q(refused_reason="")),
                name="price_or_refusal_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset.code} {self.price_usd} USD ({self.source})"


class SyncOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCESS = "success", "Succeeded"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed"
    # Read, but a large drop awaits a second read (or a manager) before it counts.
    UNCONFIRMED = "unconfirmed", "Drop awaiting confirmation"


FINAL_OUTCOMES = (SyncOutcome.SUCCESS, SyncOutcome.FAILED, SyncOutcome.UNCONFIRMED)


class SyncRound(models.Model):
    """One sync of all of a portfolio's exchange accounts; its exposure follows when all end."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="sync_rounds")
    started_at = models.DateTimeField()
    location_count = models.PositiveIntegerField()
    location_ids = models.JSONField(default=list)
    # Set once the round's tasks reached the broker; a round left undispatched (the broker was
    # down) is sent again by dispatch_pending_rounds, so queued work is never lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Set once, by whichever location finishes last (a conditional UPDATE decides).
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.portfolio} round at {self.started_at:%Y-%m-%d %H:%M}"


class SyncRun(models.Model):
    """One attempt to read a location's holdings from its exchange, kept whatever its outcome."""

    location = models.ForeignKey(
        CustodyLocation, on_delete=models.CASCADE, related_name="sync_runs"
    )
    sync_round = models.ForeignKey(
        SyncRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # The Celery task id: a redelivered task finds its own successful run and stops.
    task_id = models.CharField(max_length=64, blank=True, db_index=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=12, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING
    )
    error_class = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    request_count = models.PositiveIntegerField(default=0)
    # A retrying run's next attempt is due then; it is sent by beat (dispatch_due_retries),
    # so a retry waits in the database, not in a worker's memory or the broker.
    retry_due_at = models.DateTimeField(null=True, blank=True)
    retry_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        get_latest_by = "started_at"
        indexes = [models.Index(fields=["location", "-started_at"], name="syncrun_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=SyncOutcome.values), name="syncrun_outcome_valid"
            ),
            models.UniqueConstraint(
                fields=["task_id"],
                condition=Q(outcome=SyncOutcome.SUCCESS) & ~Q(task_id=""),
                name="syncrun_one_success_per_task",
            ),
            # A running run is its account's lock: a duplicated task never syncs the same
            # account twice at once (portfolio/sync.py).
            models.UniqueConstraint(
                fields=["location"],
                condition=Q(outcome=SyncOutcome.RUNNING),
                name="syncrun_one_running_per_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location} {self.outcome} at {self.started_at:%Y-%m-%d %H:%M}"


class DropState(models.TextChoices):
    PENDING = "pending", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Not confirmed by the next read"


class UnconfirmedDrop(models.Model):
    """A sync whose result lowered a location's value (or a wallet's) by more than the
    threshold: it counts only once a second read agrees, or a manager confirms it.

    The balances read are kept here, not as a snapshot, so that every reader of the current
    holdings keeps seeing the last confirmed ones until then.
    """

    location = models.ForeignKey(
        CustodyLocation, on_delete=models.CASCADE, related_name="unconfirmed_drops"
    )
    sync_run = models.OneToOneField(SyncRun, on_delete=models.CASCADE, related_name="drop")
    found_at = models.DateTimeField()
    # [[code, product, amount as text, reported code], ...]: exactly what the sync read.
    balances = models.JSONField(default=list)
    request_count = models.PositiveIntegerField(default=0)
    value_before = ExactDecimalField(**AMOUNT)
    value_after = ExactDecimalField(**AMOUNT)
    drop_usd = ExactDecimalField(**AMOUNT)
    detail = models.TextField()  # which wallets fell, in words
    reread_due_at = models.DateTimeField()
    reread_sent_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=DropState.choices, default=DropState.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decision = models.TextField(blank=True)  # how it was settled, in words
    snapshot = models.OneToOneField(
        HoldingSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="drop"
    )

    class Meta:
        get_latest_by = "found_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DropState.values), name="drop_state_valid"
            ),
            models.UniqueConstraint(
                fields=["location"],
                condition=Q(state=DropState.PENDING),
                name="drop_one_pending_per_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location}: drop of {self.drop_usd} USD ({self.state})"
