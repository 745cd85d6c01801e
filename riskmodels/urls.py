from __future__ import annotations

from django.urls import path

from riskmodels import alert_views, firm_views, history_views, policy_views, stress_views, views

app_name = "riskmodels"
urlpatterns = [
    path("firm/", firm_views.firm, name="firm"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge_alert"),
    path("portfolios/<slug:slug>/exposure/", views.report, name="report"),
    path("portfolios/<slug:slug>/alerts/", alert_views.alerts, name="alerts"),
    path("portfolios/<slug:slug>/stress/", stress_views.stress, name="stress"),
    path("portfolios/<slug:slug>/stress/new/", stress_views.new_scenario, name="new_scenario"),
    path("stress/<int:pk>/delete/", stress_views.delete_scenario, name="delete_scenario"),
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
    path("exports/<int:pk>/", views.pdf_export, name="pdf_export"),
    path("exports/<int:pk>/report.pdf", views.download_pdf_export, name="download_pdf_export"),
    path("portfolios/<slug:slug>/exposure/history/", history_views.history, name="history"),
    path(
        "portfolios/<slug:slug>/exposure/reports/<int:pk>/",
        history_views.past_report,
        name="past_report",
    ),
    path("portfolios/<slug:slug>/exposure/since/", history_views.since, name="since"),
    path("policy/", policy_views.policy, name="policy"),
    path("policy/<slug:slug>/", policy_views.policy, name="portfolio_policy"),
]
