"""Dashboard pages of the predictions app: the collections forecast with its backtest, and
the model registry for admins. Function views; each fetches through scoped selectors."""

from __future__ import annotations

import numpy as np
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ml import forecast as fm
from ml.registry import get_active
from paypredict_project.tenancy.decorators import require_org_permission
from predictions import selectors
from predictions.charts import forecast_chart
from predictions.services.forecast import forecast_get_or_build
from predictions.services.scoring import NoActiveModel, organization_today


def backtest_table(run) -> list[dict]:
    """Per origin: 13-week totals of actual and forecast cash and each method's WAPE."""
    rows = []
    for origin in run.results:
        weeks = origin["weeks"]
        actual = np.array([w["actual"] for w in weeks])
        row = {"origin": origin["origin"], "actual": float(actual.sum())}
        for key in ("model", "due_date", "customer_delay"):
            forecast = np.array([w[key] for w in weeks])
            row[key] = float(forecast.sum())
            row[f"wape_{key}"] = fm.wape(actual, forecast)
        rows.append(row)
    return rows


@require_org_permission("read:predictions")
def forecast_page(request):
    organization = request.organization
    snapshot = selectors.forecast_latest(organization=organization)
    error = None
    if snapshot is None or snapshot.as_of != organization_today(organization):
        try:
            snapshot = forecast_get_or_build(organization=organization)
        except NoActiveModel as exc:
            error = str(exc)
    backtest = selectors.forecast_backtest_latest(organization=organization)
    context = {
        "snapshot": snapshot,
        "error": error,
        "chart": forecast_chart(snapshot.weeks) if snapshot and snapshot.weeks else None,
        "total": sum(w["expected"] for w in snapshot.weeks) if snapshot else 0,
        "backtest": backtest,
        "backtest_rows": backtest_table(backtest) if backtest else [],
        "can_refresh": "write:invoices" in request.org_permissions,
    }
    return render(request, "predictions/forecast.html", context)


@require_POST
@require_org_permission("write:invoices")
def forecast_refresh(request):
    try:
        forecast_get_or_build(organization=request.organization, refresh=True)
        messages.success(request, "Forecast recomputed from the current open invoices.")
    except NoActiveModel as exc:
        messages.error(request, str(exc))
    return redirect("forecast")


@require_org_permission("admin")
def model_list_page(request):
    organization = request.organization
    context = {
        "versions": selectors.model_version_list(organization=organization),
        "active": get_active(organization),
    }
    return render(request, "predictions/models.html", context)
