"""The exposure report document is typed once (riskmodels.documents); the rendered report, the
API's serializers and the exports follow those types exactly."""

from __future__ import annotations

import types
import typing
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from riskmodels import documents
from riskmodels.api import serializers as s
from riskmodels.reports import snapshot_report
from riskmodels.services import compute_exposure
from tests.factories import worked_check

T0 = timezone.now().replace(microsecond=0)

# Each part of the document and the serializer that shows it in the API.
PARTS = [
    (documents.ExposureReport, s.ExposureDocumentSerializer),
    (documents.AllocationRow, s.AllocationRowSerializer),
    (documents.ExposureRow, s.ExposureRowSerializer),
    (documents.Metrics, s.MetricsSerializer),
    (documents.AlertRow, s.AlertRowSerializer),
    (documents.StressRow, s.StressRowSerializer),
    (documents.ActionRow, s.ActionRowSerializer),
    (documents.Accounting, s.AccountingSerializer),
    (documents.LiabilityRow, s.LiabilityRowSerializer),
    (documents.UnpricedRow, s.UnpricedRowSerializer),
]


def hints(kind):
    return typing.get_type_hints(kind, vars(documents))


def nullable(hint) -> bool:
    return typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in (
        typing.get_args(hint)
    )


def assert_matches(value, kind, where="report"):
    """Every key of the TypedDict, nothing else, each value of its declared type."""
    assert isinstance(value, dict), where
    assert list(value) == list(hints(kind)), where
    for key, hint in hints(kind).items():
        item = value[key]
        if item is None:
            assert nullable(hint), f"{where}.{key} is null but typed {hint}"
            continue
        target = hint
        if nullable(hint):
            (target,) = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(target) is list:
            (inner,) = typing.get_args(target)
            for index, part in enumerate(item):
                if typing.is_typeddict(inner):
                    assert_matches(part, inner, f"{where}.{key}[{index}]")
                else:
                    assert isinstance(part, inner), f"{where}.{key}[{index}]"
        elif typing.is_typeddict(target):
            assert_matches(item, target, f"{where}.{key}")
        else:
            assert isinstance(item, typing.get_origin(target) or target), f"{where}.{key}"


@pytest.mark.django_db
def test_the_rendered_report_is_exactly_its_declared_type(tenants):
    worked_check(tenants.fund_a, taken_at=T0 - timedelta(minutes=1))
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=T0)
    document = snapshot_report(snapshot)
    assert document["exposures"] and document["allocation"] and document["stress"]
    assert document["alerts"], "the worked check breaches the Binance limit"
    assert_matches(document, documents.ExposureReport)


@pytest.mark.parametrize(("kind", "serializer"), PARTS, ids=lambda p: p.__name__)
def test_the_api_serializer_has_each_declared_key_with_its_nullability(kind, serializer):
    fields = serializer().fields
    assert list(fields) == list(hints(kind))
    for key, hint in hints(kind).items():
        field = fields[key]
        many = isinstance(field, serializers.ListSerializer | serializers.ListField)
        assert field.allow_null == nullable(hint) or many, f"{kind.__name__}.{key}"


def test_the_api_serves_the_typed_document_unchanged():
    assert isinstance(s.ExposureReportSerializer().fields["report"], s.ExposureDocumentSerializer)
