from __future__ import annotations

import pytest
from django.urls import reverse

from predictions.charts import forecast_chart, nice_ceiling, sparkline
from predictions.models import ForecastSnapshot
from predictions.services.forecast import forecast_backtest_run
from predictions.services.scoring import invoices_score
from tests.predictions.conftest import TODAY

pytestmark = pytest.mark.django_db


def test_it_shows_the_forecast_chart_and_table_to_a_viewer(viewer_client, org, active_model):
    invoices_score(organization=org)
    response = viewer_client.get(reverse("forecast"))
    assert response.status_code == 200
    snapshot = ForecastSnapshot.objects.get(organization=org, as_of=TODAY)
    body = response.content.decode()
    assert "<svg" in body and 'class="band"' in body
    assert body.count('data-week="') == 13
    assert snapshot.weeks[0]["start"] in body
    assert "Recompute now" not in body  # viewers cannot recompute
    assert "No backtest has been run yet" in body


def test_it_shows_the_backtest_comparison(viewer_client, org, active_model):
    import datetime as dt

    run = forecast_backtest_run(
        organization=org,
        origins=2,
        weeks=4,
        end=TODAY - dt.timedelta(days=120),
        retrain=False,
    )
    body = viewer_client.get(reverse("forecast")).content.decode()
    assert f'data-wape="model">{run.wape_model:.3f}' in body
    assert f'data-wape="due_date">{run.wape_due_date:.3f}' in body
    assert body.count("data-origin=") == 2


def test_it_lets_a_collector_recompute_the_forecast(collector_client, org, active_model):
    response = collector_client.post(reverse("forecast-refresh"))
    assert response.status_code == 302
    assert ForecastSnapshot.objects.filter(organization=org, as_of=TODAY).exists()


def test_it_explains_how_to_get_a_forecast_without_a_model(viewer_client, org, model_dir):
    body = viewer_client.get(reverse("forecast")).content.decode()
    assert "train_payment_model --org org-a" in body


def test_it_lists_model_versions_for_admins_only(
    owner_client, viewer_client, outsider_client, active_model
):
    response = owner_client.get(reverse("model-list"))
    assert response.status_code == 200
    assert f'data-version="{active_model.version}"' in response.content.decode()
    assert 'data-decision="promoted"' in response.content.decode()
    assert viewer_client.get(reverse("model-list")).status_code == 403
    # The outsider is admin elsewhere: they see their own (empty) registry, not ours.
    outsider = outsider_client.get(reverse("model-list")).content.decode()
    assert active_model.version not in outsider


def test_it_keeps_the_forecast_page_query_count_flat(
    viewer_client, org, active_model, django_assert_max_num_queries
):
    invoices_score(organization=org)
    viewer_client.get(reverse("forecast"))  # builds today's snapshot
    with django_assert_max_num_queries(12):
        viewer_client.get(reverse("forecast"))


def test_it_draws_the_band_around_the_expected_line():
    weeks = [
        {"start": "2026-11-27", "expected": 100.0, "lower": 50.0, "upper": 150.0},
        {"start": "2026-12-04", "expected": 200.0, "lower": 120.0, "upper": 380.0},
    ]
    chart = forecast_chart(weeks, width=200, height=100, left=0, bottom=0)
    assert nice_ceiling(380.0) == 500.0
    assert len(chart.band.split()) == 4
    # Higher values sit higher on the page (smaller y).
    ys = [float(p.split(",")[1]) for p in chart.line.split()]
    assert ys[1] < ys[0]
    assert sparkline([0, 100], width=10, height=10) == "0.0,8.0 10.0,2.0"
