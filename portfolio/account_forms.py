"""Forms for exchange accounts. Credentials are write-only: their fields always render empty."""

from __future__ import annotations

from typing import Any

from django import forms

from portfolio import exchanges
from portfolio.forms import form_field
from portfolio.models import Counterparty, CounterpartyKind, ExchangeAccount, Portfolio, Wallet

TEST_ACTION = "test"  # the name of the "Test connection" button; saving is the default


def exchange_choices() -> list[tuple[str, str]]:
    """The ccxt exchanges Counterweight can sync: those with at least one wallet it reads."""
    return [
        (exchange_id, name)
        for exchange_id, name in exchanges.DISPLAY_NAMES.items()
        if exchanges.supported_wallets(exchange_id)
    ]


def _secret_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


# The write-only fields; Django's error reports mask them (sensitive_post_parameters).
CREDENTIAL_FIELDS = ("api_key", "secret", "password")


class WriteOnlyCredentials(forms.Form):
    """API key, secret and passphrase, never rendered back; empty key and secret mean "keep
    the stored credentials". The pages' forms and the admin's share it."""

    api_key = _secret_field("API key")
    secret = _secret_field("API secret")
    password = _secret_field("Passphrase", "OKX and some others need one; leave empty otherwise.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if bool(data.get("api_key")) != bool(data.get("secret")):
            self.add_error("secret" if data.get("api_key") else "api_key", "Enter both or neither.")
        return data

    def credentials(self) -> dict[str, str] | None:
        """The entered credentials, or None when the key and secret were left empty."""
        data = self.cleaned_data
        if not data.get("api_key"):
            return None
        return {"apiKey": data["api_key"], "secret": data["secret"], "password": data["password"]}


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
        + ". Wallets an exchange lacks are ignored.",
    )

    def exchange_id(self) -> str:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        exchange_id = self.exchange_id()
        if exchange_id and data.get("wallets"):
            data["wallets"] = self._supported(exchange_id, data["wallets"])
        return data

    def _supported(self, exchange_id: str, wallets: list[str]) -> list[str]:
        """The chosen wallets this exchange has; ticking only ones it lacks is an error."""
        supported = exchanges.supported_wallets(exchange_id)
        kept = [wallet for wallet in supported if wallet in wallets]
        if not kept:
            name = exchanges.DISPLAY_NAMES.get(exchange_id, exchange_id)
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
    field_order = ["name", "exchange", "wallets", "api_key", "secret", "password", "custodian"]

    def __init__(self, *args: Any, portfolio: Portfolio, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        self.fields["wallets"].initial = list(Wallet.values)

    def exchange_id(self) -> str:
        return self.cleaned_data.get("exchange", "")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.portfolio.locations.filter(name=name).exists():
            raise forms.ValidationError("This portfolio already has a location with this name.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        exchange_id = data.get("exchange")
        if exchange_id and data.get("custodian") is None:
            if not Counterparty.objects.filter(slug=exchange_id).exists():
                self.add_error(
                    "custodian",
                    "The registry has no counterparty for this exchange: choose who holds it.",
                )
        return data

    def custodian_slug(self) -> str | None:
        custodian = self.cleaned_data.get("custodian")
        return custodian.slug if custodian else None


class EditExchangeAccountForm(CredentialFields):
    """Wallets, and new credentials: empty credential fields keep the stored ones."""

    field_order = ["wallets", "api_key", "secret", "password"]

    def __init__(self, *args: Any, account: ExchangeAccount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        supported = exchanges.supported_wallets(account.exchange_id)
        wallets = form_field(self, "wallets", forms.MultipleChoiceField)
        wallets.choices = [c for c in Wallet.choices if c[0] in supported]
        wallets.help_text = "The wallets to read; tick every one that holds money."
        wallets.initial = list(account.wallets)
        self.fields["api_key"].help_text = "Leave the key and secret empty to keep the stored ones."

    def exchange_id(self) -> str:
        return self.account.exchange_id
