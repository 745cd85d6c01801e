from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts.admin_site import CounterweightAdminSite, hide_internal_models

        # django-otp's documented way to guard the default site in place: every ModelAdmin
        # already registered on admin.site stays, and config/urls.py keeps admin.site.urls.
        admin.site.__class__ = CounterweightAdminSite
        # django.contrib.admin comes first in INSTALLED_APPS: its ready() has loaded every
        # admin module by now.
        hide_internal_models(admin.site)
