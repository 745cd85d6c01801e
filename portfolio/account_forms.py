"""Forms for exchange accounts. Credentials are write-only: their fields always render empty."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from portfolio import exchanges
from portfolio.forms import form_field
from portfolio.models import (
    Counterparty,
    CounterpartyKind,
    ExchangeAccount,
    OffExchangeSettlement,
    Portfolio,
    Wallet,
)

TEST_ACTION = "test"  # the name of the "Test connection" button; saving is the default


def exchange_choices() -> list[tuple[str, str]]:
    """Every ccxt exchange Counterweight can sync: the dedicated adapters first, then every
    other one whose balances ccxt reads (the generic adapter), by name."""
    return [
        (exchange_id, name if exchanges.reader(exchange_id) == "dedicated" else f"{name} (spot)")
        for exchange_id, name in exchanges.exchange_names().items()
    ]


def _secret_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


# Every credential ccxt's `requiredCredentials` may name: (ccxt's name, form field, label).
CREDENTIALS: tuple[tuple[str, str, str], ...] = (
    ("apiKey", "api_key", "API key"),
    ("secret", "secret", "API secret"),
    ("password", "password", "Passphrase"),
    ("uid", "uid", "User ID"),
    ("accountId", "account_id", "Account ID"),
    ("login", "login", "Login"),
    ("twofa", "twofa", "Two-factor secret"),
    ("privateKey", "private_key", "Private key"),
    ("walletAddress", "wallet_address", "Wallet address"),
    ("token", "token", "API token"),
)
FIELD_OF = {name: field_name for name, field_name, _ in CREDENTIALS}
# An exchange read by wallet address alone (hyperliquid) asks for an EVM address: no key.
WALLET_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# The write-only fields; Django's error reports mask them (sensitive_post_parameters).
CREDENTIAL_FIELDS = tuple(field_name for _, field_name, _ in CREDENTIALS)


def needed_fields(exchange_id: str) -> tuple[str, ...]:
    """The form fields of the credentials this exchange requires, in our order."""
    needed = set(exchanges.required_credentials(exchange_id))
    return tuple(field_name for name, field_name, _ in CREDENTIALS if name in needed)


class WriteOnlyCredentials(forms.Form):
    """The credentials an exchange requires, never rendered back; all empty means "keep the
    stored credentials". The pages' forms and the admin's share it. Without a known exchange
    every field shows (the admin's form); with one, only those it requires."""

    api_key = _secret_field("API key")
    secret = _secret_field("API secret")
    password = _secret_field("Passphrase", "OKX, KuCoin and some others need one.")
    uid = _secret_field("User ID")
    account_id = _secret_field("Account ID")
    login = _secret_field("Login")
    twofa = _secret_field("Two-factor secret")
    private_key = _secret_field("Private key", "Decentralised exchanges sign with a wallet key.")
    wallet_address = _secret_field("Wallet address")
    token = _secret_field("API token")

    def exchange_id(self) -> str:
        return ""

    def required_fields(self) -> tuple[str, ...]:
        """The credential fields this exchange requires; every one when none is chosen yet."""
        exchange_id = self.exchange_id()
        if not exchange_id or exchange_id not in exchanges.exchange_names():
            return CREDENTIAL_FIELDS
        return needed_fields(exchange_id)

    def keep_credential_fields(self, exchange_id: str) -> None:
        """Drop the credential fields this exchange does not ask for."""
        if exchange_id not in exchanges.exchange_names():
            return
        wanted = needed_fields(exchange_id)
        for field_name in CREDENTIAL_FIELDS:
            if field_name not in wanted:
                self.fields.pop(field_name, None)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        required = [f for f in self.required_fields() if f in self.fields]
        given = [f for f in required if data.get(f)]
        if given and len(given) < len(required) and self.exchange_id():
            words = "Enter both or neither." if len(required) == 2 else "Enter all or none."
            for field_name in required:
                if not data.get(field_name):
                    self.add_error(field_name, f"{words} This exchange needs each of them.")
        elif self.fields.keys() >= {"api_key", "secret"} and not self.exchange_id():
            if bool(data.get("api_key")) != bool(data.get("secret")):
                missing = "secret" if data.get("api_key") else "api_key"
                self.add_error(missing, "Enter both or neither.")
        self._check_address(data.get("wallet_address") or "")
        return data

    def _check_address(self, address: str) -> None:
        """An exchange read by address alone gets nothing else: the address must be one."""
        exchange_id = self.exchange_id()
        by_address = exchange_id and exchanges.required_credentials(exchange_id) == (
            "walletAddress",
        )
        if address and by_address and not WALLET_ADDRESS.fullmatch(address):
            self.add_error(
                "wallet_address", "Enter the wallet's address: 0x and 40 hexadecimal digits."
            )

    def credentials(self) -> dict[str, str] | None:
        """The entered credentials by ccxt's names, or None when all were left empty."""
        data = self.cleaned_data
        wanted = set(self.required_fields()) & set(self.fields)
        entered = {
            name: data[field_name]
            for name, field_name, _ in CREDENTIALS
            if field_name in wanted and data.get(field_name)
        }
        return entered or None


class CredentialFields(WriteOnlyCredentials):
    """The credentials and the wallets to read, for the portfolio pages' account forms."""

    wallets = forms.MultipleChoiceField(
        choices=Wallet.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The wallets to read; tick every one that holds money. "
        + "; ".join(
            f"{name}: {', '.join(exchanges.supported_wallets(exchange_id))}"
            for exchange_id, name in exchanges.DISPLAY_NAMES.items()
        )
        + f"; every other exchange: spot ({exchanges.GENERIC_NOT_READ})"
        + ". Wallets an exchange lacks are ignored.",
    )

    include_subaccounts = forms.BooleanField(
        required=False,
        label="Include sub-accounts",
        help_text="A master key with read access: each of its sub-accounts becomes a location "
        "of its own, named after it, synced with this one. For: "
        + ", ".join(exchanges.subaccount_exchanges().values())
        + ".",
    )

    def exchange_id(self) -> str:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        exchange_id = self.exchange_id()
        if exchange_id and data.get("wallets"):
            data["wallets"] = self._supported(exchange_id, data["wallets"])
        if data.get("include_subaccounts") and not exchanges.supports_subaccounts(exchange_id):
            names = ", ".join(exchanges.subaccount_exchanges().values())
            self.add_error("include_subaccounts", f"Sub-accounts can be read for: {names}.")
        return data

    def _supported(self, exchange_id: str, wallets: list[str]) -> list[str]:
        """The chosen wallets this exchange has; ticking only ones it lacks is an error."""
        supported = exchanges.supported_wallets(exchange_id)
        kept = [wallet for wallet in supported if wallet in wallets]
        if not kept:
            name = exchanges.display_name(exchange_id)
            self.add_error("wallets", f"{name} has only these wallets: {', '.join(supported)}.")
        return kept


class AddExchangeAccountForm(CredentialFields):
    name = forms.CharField(max_length=120, help_text="How this account is called in reports.")
    exchange = forms.ChoiceField(choices=exchange_choices, label="Exchange")
    custodian = forms.ModelChoiceField(
        queryset=Counterparty.objects.exclude(kind=CounterpartyKind.GROUP).order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="Empty: the exchange's operating entity. Set it for off-exchange settlement "
        "(assets traded on the exchange but held by a custodian).",
    )
    field_order = [
        "name",
        "exchange",
        "wallets",
        *CREDENTIAL_FIELDS,
        "include_subaccounts",
        "custodian",
    ]

    def __init__(self, *args: Any, portfolio: Portfolio, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        self.fields["wallets"].initial = list(Wallet.values)
        # The exchange posted, or chosen by ?exchange=: ask only for its credentials.
        chosen = self.data.get("exchange") or self.initial.get("exchange") or ""
        self.keep_credential_fields(str(chosen))

    def exchange_id(self) -> str:
        return self.cleaned_data.get("exchange", "")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.portfolio.locations.filter(name=name).exists():
            raise forms.ValidationError("This portfolio already has a location with this name.")
        return name

    def custodian_slug(self) -> str | None:
        custodian = self.cleaned_data.get("custodian")
        return custodian.slug if custodian else None


class EditExchangeAccountForm(CredentialFields):
    """Wallets, and new credentials: empty credential fields keep the stored ones."""

    field_order = ["wallets", *CREDENTIAL_FIELDS, "include_subaccounts"]

    def __init__(self, *args: Any, account: ExchangeAccount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.keep_credential_fields(account.exchange_id)
        self.fields["include_subaccounts"].initial = account.include_subaccounts
        if account.is_subaccount or not exchanges.supports_subaccounts(account.exchange_id):
            self.fields.pop("include_subaccounts")
        if account.is_subaccount:  # read with the master's key: it has none to enter
            for field_name in CREDENTIAL_FIELDS:
                self.fields.pop(field_name, None)
        supported = exchanges.supported_wallets(account.exchange_id)
        wallets = form_field(self, "wallets", forms.MultipleChoiceField)
        wallets.choices = [c for c in Wallet.choices if c[0] in supported]
        wallets.help_text = "The wallets to read; tick every one that holds money."
        wallets.initial = list(account.wallets)
        first = next((f for f in CREDENTIAL_FIELDS if f in self.fields), None)
        if first is not None:
            self.fields[first].help_text = "Leave the credentials empty to keep the stored ones."

    def exchange_id(self) -> str:
        return self.account.exchange_id


class SettlementForm(forms.ModelForm):
    """Off-exchange settlement of an exchange account: who holds the collateral, how often
    profit is swept to it, and one settlement's time."""

    class Meta:
        model = OffExchangeSettlement
        fields = ["network", "custodian", "interval_hours", "settled_at"]
        widgets = {"settled_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}
        labels = {"custodian": "Custodian holding the collateral"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        custodian = form_field(self, "custodian", forms.ModelChoiceField)
        custodian.queryset = Counterparty.objects.filter(
            kind__in=[CounterpartyKind.CUSTODIAN, CounterpartyKind.BANK]
        ).order_by("name")
