"""A GET never writes: the forecast is recomputed by a POST that needs write:invoices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from predictions.models import ForecastSnapshot
from predictions.services.forecast import forecast_get_or_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot(org, active_model):
    # A stale marker (time is frozen in these tests): a recompute replaces it, nothing else does.
    snapshot = forecast_get_or_build(organization=org)
    ForecastSnapshot.objects.filter(pk=snapshot.pk).update(excluded={"marker": "stale"})
    return snapshot


def stale(snapshot) -> bool:
    return ForecastSnapshot.objects.get(organization=snapshot.organization).excluded == {
        "marker": "stale"
    }


def test_it_refuses_refresh_on_a_get_and_leaves_the_snapshot_alone(viewer_client, snapshot):
    response = viewer_client.get(reverse("api:forecast"), {"refresh": "1"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("refresh: a GET never recomputes")
    assert stale(snapshot)


def test_it_refuses_the_refresh_to_a_viewer(viewer_client, snapshot):
    response = viewer_client.post(reverse("api:forecast-refresh"))
    assert response.status_code == 403
    assert stale(snapshot)


def test_it_recomputes_for_a_collector(collector_client, snapshot):
    response = collector_client.post(reverse("api:forecast-refresh"))
    assert response.status_code == 200
    assert not stale(snapshot)
    assert response.json()["open_invoices"] == snapshot.open_invoices > 0
    assert len(response.json()["weeks"]) == 13


def test_it_keeps_other_organizations_out(outsider_client, snapshot):
    response = outsider_client.post(reverse("api:forecast-refresh"))
    # The outsider's own organization has no model: a 409 about it, never org A's snapshot.
    assert response.status_code == 409
    assert stale(snapshot)
