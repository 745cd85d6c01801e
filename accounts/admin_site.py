"""The Django admin behind the same login and two-factor check as the rest of the site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite

if TYPE_CHECKING:
    from accounts.models import User


class CounterweightAdminSite(OTPAdminSite):
    """OTPAdminSite: only staff whose session passed a TOTP check get in.

    Its own login form is not used: one login page (with django-axes' lockout and the TOTP
    setup for admins who have none yet) serves the whole site.
    """

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")  # signed in but not an admin: nothing to log in to here
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


class BoundedIdAdmin(admin.ModelAdmin):
    """For a model whose key is a one-to-one field: Django checks a plain integer key's range
    before querying, not a related one's, and SQLite overflows on an id beyond bigint."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        from accounts.access import id_or_404  # access reads the models this module admins

        if from_field is None:
            try:
                id_or_404(object_id)  # the one id check of the project
            except Http404:
                return None  # the admin answers "no such object"
        return super().get_object(request, object_id, from_field)


def admin_user(request: HttpRequest) -> User:
    """The user acting on an admin page, for the audit trail.

    The admin site lets in only signed-in, verified staff, so an anonymous user never gets
    this far; if one ever did, refusing is the only safe answer.
    """
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user


# Third-party tables an admin never needs to open: user groups (roles are a field of the user),
# beat's other schedule kinds (the schedule is interval-based: PeriodicTask and
# IntervalSchedule stay, README "django-celery-beat"), and django-axes' logs (AccessAttempt
# stays: deleting one lifts a lockout).
INTERNAL_MODELS = (
    "auth.Group",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.SolarSchedule",
    "axes.AccessLog",
    "axes.AccessFailureLog",
)


def hide_internal_models(site: admin.AdminSite) -> None:
    """Unregister INTERNAL_MODELS; called once every app's admin module is loaded."""
    from django.apps import apps

    for label in INTERNAL_MODELS:
        model = apps.get_model(label)
        if site.is_registered(model):
            site.unregister(model)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and evidence (audit trail, policy changes, exposures, webhook log): admins read
    it; it is written only by the services that record it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page, never edited there (see ReadOnlyAdmin)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
