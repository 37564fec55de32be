from __future__ import annotations

import datetime as dt

import pytest

from predictions.models import CustomerRiskSnapshot, ForecastSnapshot, Prediction
from predictions.services.refresh import predictions_refresh
from predictions.services.scoring import NoActiveModel

pytestmark = pytest.mark.django_db


def test_it_dates_forecast_and_risk_by_the_scoring_day(org, active_model):
    as_of = dt.date(2026, 11, 20)
    result = predictions_refresh(organization=org, as_of=as_of)
    assert result.score.as_of == as_of and result.score.scored == 18
    assert result.forecast.as_of == as_of
    assert ForecastSnapshot.objects.filter(organization=org, as_of=as_of).count() == 1
    assert set(
        CustomerRiskSnapshot.objects.filter(organization=org).values_list("date", flat=True)
    ) == {as_of}
    assert result.risk.customers == 6


def test_it_can_stop_after_scoring(org, active_model):
    result = predictions_refresh(organization=org, derived=False)
    assert result.forecast is None and result.risk is None
    assert Prediction.objects.filter(organization=org).count() == 18
    assert not ForecastSnapshot.objects.filter(organization=org).exists()


def test_it_refuses_without_an_active_model(org, ledger):
    with pytest.raises(NoActiveModel):
        predictions_refresh(organization=org)
