from __future__ import annotations

from django.urls import path

from portfolio import manual_views

app_name = "manual"
urlpatterns = [
    path("portfolios/<slug:slug>/manual/", manual_views.manual_holdings, name="holdings"),
    path("portfolios/<slug:slug>/manual/holding/", manual_views.set_holding, name="set_holding"),
    path("portfolios/<slug:slug>/manual/import/", manual_views.upload_holdings, name="upload"),
]
