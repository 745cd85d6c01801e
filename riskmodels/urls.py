from __future__ import annotations

from django.urls import path

from riskmodels import firm_views, views

app_name = "riskmodels"
urlpatterns = [
    path("firm/", firm_views.firm, name="firm"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge_alert"),
    path("portfolios/<slug:slug>/exposure/", views.report, name="report"),
    path("portfolios/<slug:slug>/exposure/compute/", views.compute_now, name="compute_now"),
    path(
        "portfolios/<slug:slug>/export/holdings.csv",
        views.export_holdings_csv,
        name="export_holdings_csv",
    ),
    path(
        "portfolios/<slug:slug>/export/exposures.csv",
        views.export_exposures_csv,
        name="export_exposures_csv",
    ),
    path("portfolios/<slug:slug>/export/report.pdf", views.export_pdf, name="export_pdf"),
]
