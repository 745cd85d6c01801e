"""API views: thin. Every queryset starts from accounts.access (another tenant's objects are
404), investors with a stake get stake × every money figure, and each write calls one service.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.access import (
    get_alert_for_user,
    get_exposure_for_user,
    get_location_for_user,
    get_portfolio_for_user,
    id_or_404,
    investor_share,
    portfolios_for,
)
from accounts.models import InvestorStake, Role, User
from accounts.types import AuthenticatedApiRequest
from portfolio.models import CustodyLocation, Holding, Portfolio
from portfolio.selectors import locations_of, locations_with_health, not_current_reasons
from riskmodels.api import serializers as s
from riskmodels.documents import ExposureData
from riskmodels.models import Alert, AlertState, ExposureSnapshot, WebhookDelivery, WebhookEndpoint
from riskmodels.reports import report_for_user
from riskmodels.selectors import exposure_at, holding_lines
from riskmodels.services import acknowledge_alert
from riskmodels.webhooks import (
    create_webhook_endpoint,
    disable_webhook_endpoint,
    get_webhook_for_user,
    webhooks_for,
)


def stakes_of(user: User) -> dict[int, Decimal]:
    """An investor's stakes by portfolio id; empty for everyone else (they see portfolios whole)."""
    if user.role != Role.INVESTOR:
        return {}
    return dict(InvestorStake.objects.filter(investor=user).values_list("portfolio_id", "share"))


class Authenticated(generics.GenericAPIView):
    """Every API view requires IsAuthenticated (settings), so its request's user is a User."""

    request: AuthenticatedApiRequest


class PortfolioViewSet(Authenticated, viewsets.ReadOnlyModelViewSet):
    """The portfolios the caller may see."""

    serializer_class = s.PortfolioSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Portfolio]:
        return portfolios_for(self.request.user).order_by("name", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        user = self.request.user
        managed = set(portfolios_for(user, manage=True).values_list("pk", flat=True))
        return {**super().get_serializer_context(), "stakes": stakes_of(user), "managed": managed}


class PortfolioScoped(Authenticated):
    """A view under /portfolios/<slug>/: the portfolio through the access helper, once."""

    manage = False

    @cached_property
    def portfolio(self) -> Portfolio:
        return get_portfolio_for_user(self.request.user, self.kwargs["slug"], manage=self.manage)

    @cached_property
    def stake(self) -> Decimal | None:
        return investor_share(self.request.user, self.portfolio)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "stake": self.stake}


class LocationListView(PortfolioScoped, generics.ListAPIView):
    """The portfolio's custody locations; sync health only for those who see it whole."""

    serializer_class = s.LocationHealthSerializer

    def get_queryset(self) -> QuerySet[CustodyLocation]:
        if getattr(self, "swagger_fake_view", False):
            return CustodyLocation.objects.none()
        if self.stake is not None:
            return locations_of(self.portfolio)
        return locations_with_health(self.portfolio)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if getattr(self, "swagger_fake_view", False) or self.stake is None:
            return s.LocationHealthSerializer
        return s.LocationSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.stake is None:
            context["not_current"] = not_current_reasons(self.portfolio)
        return context


class LocationDetailView(Authenticated, generics.RetrieveAPIView):
    serializer_class = s.LocationHealthSerializer

    def get_object(self) -> CustodyLocation:
        location = get_location_for_user(self.request.user, self.kwargs["pk"])
        if investor_share(self.request.user, location.portfolio) is not None:
            return location
        return locations_with_health(location.portfolio).get(pk=location.pk)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if getattr(self, "swagger_fake_view", False):
            return s.LocationHealthSerializer
        location = get_location_for_user(self.request.user, self.kwargs["pk"])
        if investor_share(self.request.user, location.portfolio) is None:
            return s.LocationHealthSerializer
        return s.LocationSerializer


class HoldingListView(PortfolioScoped, generics.ListAPIView):
    """Current holdings (each location's latest snapshot), valued in USD, × stake."""

    serializer_class = s.HoldingSerializer

    def get_queryset(self) -> QuerySet[Holding]:
        # Only the schema generator asks: the lines are valued rows, not a queryset (see list).
        return Holding.objects.none()

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        page = self.paginate_queryset(holding_lines(self.portfolio, self.stake))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ExposureListView(PortfolioScoped, generics.ListAPIView):
    """The exposure history, newest first: time, data time and NAV (× stake)."""

    serializer_class = s.ExposureSummarySerializer

    def get_queryset(self) -> QuerySet[ExposureSnapshot]:
        if getattr(self, "swagger_fake_view", False):
            return ExposureSnapshot.objects.none()
        return (
            ExposureSnapshot.objects.filter(portfolio=self.portfolio)
            .select_related("portfolio")
            .only("pk", "portfolio__slug", "computed_at", "data_as_of", "nav")
            .order_by("-computed_at", "-pk")
        )


def report_data(user: User, snapshot: ExposureSnapshot) -> ExposureData:
    return {
        "id": snapshot.pk,
        "portfolio": snapshot.portfolio.slug,
        "computed_at": snapshot.computed_at,
        "data_as_of": snapshot.data_as_of,
        "stake": investor_share(user, snapshot.portfolio),
        "report": report_for_user(user, snapshot),
    }


class ExposureDetailView(Authenticated):
    """One snapshot with its exposure report, as the caller may see it."""

    serializer_class = s.ExposureReportSerializer

    def get(self, request: AuthenticatedApiRequest, pk: int) -> Response:
        snapshot = get_exposure_for_user(request.user, pk)
        return Response(self.get_serializer(report_data(request.user, snapshot)).data)


class LatestExposureView(PortfolioScoped, generics.GenericAPIView):
    """The latest exposure report; 404 before the first one."""

    serializer_class = s.ExposureReportSerializer

    def get(self, request: AuthenticatedApiRequest, slug: str) -> Response:
        snapshot = latest_snapshot(self.portfolio)
        return Response(self.get_serializer(report_data(request.user, snapshot)).data)


def latest_snapshot(portfolio: Portfolio) -> ExposureSnapshot:
    snapshot = exposure_at(portfolio.pk)
    if snapshot is None:
        raise Http404("No exposure report yet.")
    return snapshot


class StressView(PortfolioScoped, generics.GenericAPIView):
    """Stress losses of the latest report (presets and custom scenarios), × stake."""

    serializer_class = s.StressSerializer

    def get(self, request: AuthenticatedApiRequest, slug: str) -> Response:
        snapshot = latest_snapshot(self.portfolio)
        report = report_for_user(request.user, snapshot)
        data = {
            "exposure": snapshot.pk,
            "computed_at": snapshot.computed_at,
            "nav": report["nav"],
            "results": report["stress"],
        }
        return Response(self.get_serializer(data).data)


@extend_schema(
    parameters=[
        OpenApiParameter("portfolio", str, description="A portfolio's slug."),
        OpenApiParameter("state", str, enum=AlertState.values),
    ]
)
class AlertViewSet(Authenticated, viewsets.ReadOnlyModelViewSet):
    """Alerts of the portfolios the caller may see, newest first; managers acknowledge."""

    serializer_class = s.AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = Alert.objects.filter(portfolio__in=portfolios_for(self.request.user))
        params = self.request.query_params
        if params.get("portfolio"):
            alerts = alerts.filter(portfolio__slug=params["portfolio"])
        if params.get("state"):
            alerts = alerts.filter(state=params["state"])
        alerts = alerts.select_related("portfolio", "acknowledged_by")
        return alerts.order_by("-first_seen", "-pk")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "stakes": stakes_of(self.request.user)}

    @extend_schema(request=s.AcknowledgeSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: AuthenticatedApiRequest, pk: str) -> Response:
        """Acknowledge a live alert with a reason: managers of its portfolio and admins."""
        alert = get_alert_for_user(request.user, id_or_404(pk), manage=True)
        form = s.AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            alert = acknowledge_alert(
                alert=alert, user=request.user, reason=form.validated_data["reason"]
            )
        except DjangoValidationError as error:
            raise ValidationError({"reason": error.messages}) from error
        return Response(self.get_serializer(alert).data)


class WebhookListView(PortfolioScoped, generics.ListCreateAPIView):
    """A portfolio's webhook endpoints: its managers (and admins) only."""

    manage = True
    serializer_class = s.WebhookSerializer

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return webhooks_for(self.request.user).filter(portfolio=self.portfolio)

    @extend_schema(responses={201: s.NewWebhookSerializer})
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        portfolio = self.portfolio  # 404 before the body is even read
        form = s.WebhookSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            new = create_webhook_endpoint(
                user=self.request.user, portfolio=portfolio, url=form.validated_data["url"]
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        data = {**s.WebhookSerializer(new.endpoint).data, "secret": new.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookDetailView(Authenticated, generics.RetrieveDestroyAPIView):
    """One endpoint; DELETE disables it (its delivery log stays)."""

    serializer_class = s.WebhookSerializer

    def get_object(self) -> WebhookEndpoint:
        return get_webhook_for_user(self.request.user, self.kwargs["pk"])

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        disable_webhook_endpoint(user=self.request.user, endpoint=instance)


class WebhookDeliveryListView(Authenticated, generics.ListAPIView):
    """An endpoint's delivery log, one row per attempt, newest first."""

    serializer_class = s.WebhookDeliverySerializer

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = get_webhook_for_user(self.request.user, self.kwargs["pk"])
        return endpoint.deliveries.select_related("event").order_by("-delivered_at", "-pk")
