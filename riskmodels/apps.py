from __future__ import annotations

from django.apps import AppConfig


class RiskmodelsConfig(AppConfig):
    name = "riskmodels"
    verbose_name = "Risk policies, exposures and alerts"
