from __future__ import annotations

from django.urls import path

from riskmodels import views

app_name = "riskmodels"
urlpatterns = [
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge_alert"),
]
