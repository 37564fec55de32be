"""The whole predictions refresh: score open invoices, then rebuild what depends on them.

One function so the nightly task and ``score_invoices`` do the same thing, with the
forecast and customer risk dated the same day as the scores they are built from (a run
crossing midnight would otherwise mix two days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from paypredict_project.tenancy.models import Organization
from predictions.models import ForecastSnapshot
from predictions.services.forecast import forecast_build
from predictions.services.risk import RiskRunResult, customer_risk_refresh
from predictions.services.scoring import ScoreResult, invoices_score


@dataclass
class RefreshResult:
    score: ScoreResult
    forecast: ForecastSnapshot | None = None
    risk: RiskRunResult | None = None


def predictions_refresh(
    *,
    organization: Organization,
    as_of: dt.date | None = None,
    chunk_size: int = 50_000,
    force: bool = False,
    derived: bool = True,
) -> RefreshResult:
    """Raises ``scoring.NoActiveModel`` when the organization has no active model."""
    score = invoices_score(
        organization=organization, as_of=as_of, chunk_size=chunk_size, force=force
    )
    if not derived:
        return RefreshResult(score=score)
    return RefreshResult(
        score=score,
        forecast=forecast_build(organization=organization, as_of=score.as_of),
        risk=customer_risk_refresh(organization=organization, as_of=score.as_of),
    )
