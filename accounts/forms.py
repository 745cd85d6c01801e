from __future__ import annotations

from typing import Any

from django import forms
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice


class TokenForm(forms.Form):
    """A six-digit code from the user's authenticator app, checked against one device.

    django_otp throttles the device: after each wrong code the next is refused for a doubling
    delay, and a code once accepted is never accepted again (no replay).
    """

    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, device: TOTPDevice, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        self.device.refresh_from_db()  # the throttle as it stands now, not at page load
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes: wait a little, then try again.")
        # verify_token locks the device row, so two racing requests cannot both pass.
        if verify_token(self.device.user, self.device.persistent_id, token) is None:
            raise forms.ValidationError("That code is wrong or has expired.")
        return token
