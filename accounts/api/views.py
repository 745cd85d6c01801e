"""The user's own API tokens: list, create (shown once), revoke. Session login only.

These are plain Django views, so the site's login and two-factor middleware guard them:
a bearer token can never make another token.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.api.tokens import create_api_token, revoke_api_token
from accounts.models import ApiToken
from accounts.types import AuthenticatedRequest


class TokenNameForm(forms.Form):
    name = forms.CharField(max_length=80, strip=True, label="Name (what uses it)")


@never_cache  # the page that shows a new token must not sit in any cache
@login_required
def api_tokens(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenNameForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = create_api_token(
            actor=request.user, owner=request.user, name=form.cleaned_data["name"]
        )
        form = TokenNameForm()
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"form": form, "tokens": tokens, "created": created}
    return render(request, "api/tokens.html", context)


@login_required
@require_POST
def revoke_token(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    # Another user's token is a 404 here, as every object outside one's reach is.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoke_api_token(actor=request.user, token=token)
    messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("api:tokens")
