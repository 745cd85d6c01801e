"""Sign-in whose lockout a stranger cannot use to keep a user out.

Failed passwords lock a username, whatever address they come from (django-axes, keyed on the
username alone: behind a proxy every client shares one address, and an attacker has many).
Anyone can therefore lock any username. So the lock stops the password alone, not the
account's owner: while it holds, the right password together with a code from the account's
authenticator app still signs in, checked in one step so that the answer never says which of
the two was wrong (django-otp throttles wrong codes per device). Without an authenticator app
the lock holds until its cool-off ends.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib.auth import user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.two_factor import confirmed_device

LOCKED = (
    "Too many failed sign-ins for this username. The password alone is refused for now; "
    "if you use an authenticator app, sign in with your password and its code."
)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def username_locked(request: HttpRequest, username: str) -> bool:
    return AxesProxyHandler.is_locked(request, credentials={"username": username})


class SignInForm(AuthenticationForm):
    token = forms.CharField(
        label="Code from your authenticator app (asked only while sign-in is locked)",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.second_factor: TOTPDevice | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if self.request is None or not (username and password):
            return super().clean()
        if not username_locked(self.request, username):
            return super().clean()  # axes counts the failures of this path
        self.user_cache = self._past_the_lock(username, password)
        return self.cleaned_data

    def _past_the_lock(self, username: str, password: str) -> User:
        """The user, if both the password and the code are right; both are always checked."""
        user = User.objects.filter(username=username, is_active=True).first()
        device = confirmed_device(user) if user is not None else None
        token = "".join(self.cleaned_data.get("token", "").split())
        password_ok = user is not None and user.check_password(password)
        code_ok = device is not None and bool(token) and _code_accepted(device, token)
        if not (user is not None and device is not None and password_ok and code_ok):
            credentials = {"username": username}
            user_login_failed.send(sender=__name__, credentials=credentials, request=self.request)
            raise forms.ValidationError(LOCKED, code="locked")
        user.backend = MODEL_BACKEND  # login() needs to know which backend passed the user
        self.second_factor = device
        return user


def _code_accepted(device: TOTPDevice, token: str) -> bool:
    device.refresh_from_db()
    allowed, _ = device.verify_is_allowed()  # wrong codes double the wait, per device
    return allowed and verify_token(device.user, device.persistent_id, token) is not None


class SignInView(LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        if form.second_factor is not None:  # the code was given here: no second step
            otp_login(self.request, form.second_factor)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        context["locked"] = form is not None and form.has_error(NON_FIELD_ERRORS, "locked")
        return context

    def form_invalid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked"):
            response.status_code = 429
        return response
