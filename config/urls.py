from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from accounts.views import home
from config.views import health, no_favicon

admin.site.site_header = "Counterweight administration"
admin.site.site_title = "Counterweight"

urlpatterns = [
    path("", home, name="home"),
    path("health/", health, name="health"),
    path("favicon.ico", no_favicon),
    path("accounts/", include("accounts.urls")),
    path("", include("portfolio.urls")),
    path("", include("riskmodels.urls")),
    path("", include("portfolio.manual_urls")),
    path("", include("portfolio.account_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("riskmodels.api.urls")),  # REST API, schema, docs, tokens
]
