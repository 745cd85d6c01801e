from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from accounts.api import views as token_views
from riskmodels.api import views
from riskmodels.api.docs import DocsView

app_name = "api"

router = SimpleRouter()
router.register("portfolios", views.PortfolioViewSet, basename="portfolio")
router.register("alerts", views.AlertViewSet, basename="alert")

P = "portfolios/<slug:slug>/"
urlpatterns = [
    path(f"{P}locations/", views.LocationListView.as_view(), name="location-list"),
    path("locations/<int:pk>/", views.LocationDetailView.as_view(), name="location-detail"),
    path(f"{P}holdings/", views.HoldingListView.as_view(), name="holding-list"),
    path(f"{P}exposures/", views.ExposureListView.as_view(), name="exposure-list"),
    path(f"{P}exposures/latest/", views.LatestExposureView.as_view(), name="exposure-latest"),
    path("exposures/<int:pk>/", views.ExposureDetailView.as_view(), name="exposure-detail"),
    path(f"{P}stress/", views.StressView.as_view(), name="stress"),
    path(f"{P}webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "webhooks/<int:pk>/deliveries/",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", login_required(DocsView.as_view(url_name="api:schema")), name="docs"),
    path("tokens/", token_views.api_tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", token_views.revoke_token, name="revoke_token"),
]
