from __future__ import annotations

from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("portfolios/<slug:slug>/", views.portfolio_detail, name="portfolio_detail"),
    path("locations/<int:pk>/", views.location_detail, name="location_detail"),
]
