from __future__ import annotations

from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("portfolios/<slug:slug>/", views.portfolio_detail, name="portfolio_detail"),
    path("portfolios/<slug:slug>/sync/", views.sync_portfolio_now, name="sync_portfolio"),
    path(
        "portfolios/<slug:slug>/sync/<int:round_id>/",
        views.sync_round_status,
        name="sync_round_status",
    ),
    path("locations/<int:pk>/", views.location_detail, name="location_detail"),
    path("locations/<int:pk>/sync/", views.sync_location_now, name="sync_location"),
    path(
        "locations/<int:pk>/drops/<int:drop_id>/confirm/",
        views.decide_drop,
        {"decision": "confirmed"},
        name="confirm_drop",
    ),
    path(
        "locations/<int:pk>/drops/<int:drop_id>/reject/",
        views.decide_drop,
        {"decision": "rejected"},
        name="reject_drop",
    ),
]
