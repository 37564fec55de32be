"""The model registry: register candidates, promote them when better, load the active one.

Artifacts live under ``settings.MODEL_DIR/<org code>/<kind>/<version>/`` and are checked
against their registered sha256 every time they are loaded.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.artifacts import ArtifactChecksumError
from ml.models import ModelKind, ModelStatus, ModelVersion
from ml.payment_model import PaymentModel
from ml.payment_risk import PaymentRiskModel

__all__ = [
    "ArtifactChecksumError",
    "artifact_full_path",
    "get_active",
    "load_active_model",
    "load_model",
    "promote_if_better",
    "register_candidate",
]

logger = logging.getLogger(__name__)

# Promotion compares holdout metrics; tolerance is the slack allowed on each metric
# (absolute for ROC-AUC and Brier, relative for MAE) before a candidate counts as worse.
DEFAULT_TOLERANCE = 0.005

# Artifacts of shared models (organization null) live under MODEL_DIR/shared/<kind>/.
SHARED_FOLDER = "shared"


def _load_dispute_model(path: Path, sha256: str) -> Any:
    # Imported here: torch and transformers load only in processes that classify.
    from ml.dispute_model import DisputeClassifier

    return DisputeClassifier.load(path, sha256)


# Kinds with no holdout labels: a retrained version replaces the active one.
UNSUPERVISED_KINDS = (ModelKind.PAYMENT_RISK,)
# How each kind's artifact loads (after its checksum is verified).
LOADERS: dict[str, Any] = {
    ModelKind.PAYMENT: PaymentModel.load,
    ModelKind.PAYMENT_RISK: PaymentRiskModel.load,
    ModelKind.DISPUTE: _load_dispute_model,
}

_cache: dict[tuple[int, str], Any] = {}
_cache_lock = threading.Lock()


def artifact_full_path(version: ModelVersion) -> Path:
    return Path(settings.MODEL_DIR) / version.artifact_path


def _next_version(organization, kind: str, day: dt.date) -> str:
    prefix = day.strftime("%Y.%m.%d")
    existing = ModelVersion.objects.filter(
        organization=organization, kind=kind, version__startswith=f"{prefix}-"
    ).values_list("version", flat=True)
    numbers = [int(v.rsplit("-", 1)[1]) for v in existing if v.rsplit("-", 1)[1].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1}"


def register_candidate(
    *,
    organization,
    model: Any,
    metrics: dict[str, Any],
    rows: dict[str, int],
    params: dict[str, Any] | None = None,
    kind: str = ModelKind.PAYMENT,
    trained_at: dt.datetime | None = None,
) -> ModelVersion:
    """Save the artifact and record a ``candidate`` version for the organization."""
    trained_at = trained_at or timezone.now()
    with transaction.atomic():
        # Serialize version numbering per organization (two trainings at once).
        if organization is not None:
            type(organization).objects.select_for_update().filter(pk=organization.pk).first()
        version = _next_version(organization, kind, timezone.localdate(trained_at))
        owner = str(organization.code) if organization is not None else SHARED_FOLDER
        relative = Path(owner) / kind / version
        saved = model.save(Path(settings.MODEL_DIR) / relative)
        return ModelVersion.objects.create(
            organization=organization,
            kind=kind,
            version=version,
            trained_at=trained_at,
            rows=rows,
            feature_list=list(model.feature_columns),
            metrics=metrics,
            params=params if params is not None else model.params,
            artifact_path=str(relative / Path(saved["path"]).name),
            sha256=saved["sha256"],
            status=ModelStatus.CANDIDATE,
        )


def _compare(cand: dict[str, Any], active: dict[str, Any], tolerance: float) -> tuple[bool, str]:
    """Promote when no holdout metric is worse beyond the tolerance and at least one of
    ROC-AUC, Brier, MAE (payment) or macro-F1 (dispute) is strictly better."""
    worse, better = [], []
    checks = (
        ("roc_auc", True, lambda a: tolerance),
        ("brier", False, lambda a: tolerance),
        ("mae_days", False, lambda a: abs(a) * tolerance),
        ("macro_f1", True, lambda a: tolerance),
    )
    for name, higher_is_better, slack in checks:
        c, a = cand.get(name), active.get(name)
        if c is None or a is None:
            continue
        delta = (c - a) if higher_is_better else (a - c)
        if delta < -slack(a):
            worse.append(f"{name} {c:.4f} vs {a:.4f}")
        elif delta > 0:
            better.append(f"{name} {c:.4f} vs {a:.4f}")
    if worse:
        return False, "worse than the active model on " + ", ".join(worse)
    if not better:
        return False, "not better than the active model on any holdout metric"
    return True, "better on " + ", ".join(better)


def promote_if_better(
    candidate: ModelVersion, *, tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """Make ``candidate`` the active version if it beats the current active one on the
    holdout metrics; record the decision and both metric sets on the candidate."""
    with transaction.atomic():
        active = (
            ModelVersion.objects.select_for_update()
            .filter(
                organization=candidate.organization_id,
                kind=candidate.kind,
                status=ModelStatus.ACTIVE,
            )
            .first()
        )
        cand_metrics = (candidate.metrics or {}).get("model", {})
        if active is None:
            promote, reason = True, "no active model"
            active_metrics = None
        elif active.pk == candidate.pk:
            return candidate.promotion
        elif candidate.kind in UNSUPERVISED_KINDS:
            active_metrics = (active.metrics or {}).get("model", {})
            promote, reason = True, "no labels to compare on: the newest history wins"
        else:
            active_metrics = (active.metrics or {}).get("model", {})
            promote, reason = _compare(cand_metrics, active_metrics, tolerance)
        decision = {
            "decision": "promoted" if promote else "rejected",
            "reason": reason,
            "tolerance": tolerance,
            "candidate": {"version": candidate.version, "metrics": cand_metrics},
            "active": ({"version": active.version, "metrics": active_metrics} if active else None),
        }
        now = timezone.now()
        if promote:
            if active is not None:
                active.status = ModelStatus.RETIRED
                active.save(update_fields=["status"])
            candidate.status = ModelStatus.ACTIVE
            candidate.promoted_at = now
            candidate.promotion = decision
            candidate.save(update_fields=["status", "promoted_at", "promotion"])
        else:
            candidate.promotion = decision
            candidate.save(update_fields=["promotion"])
        return decision


def get_active(organization, kind: str = ModelKind.PAYMENT) -> ModelVersion | None:
    return ModelVersion.objects.filter(
        organization=organization, kind=kind, status=ModelStatus.ACTIVE
    ).first()


def load_model(version: ModelVersion) -> Any:
    """Load (and cache per process) a version's artifact after verifying its checksum."""
    key = (version.pk, version.sha256)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    model = LOADERS[version.kind](artifact_full_path(version), version.sha256)
    with _cache_lock:
        # Keep only the latest few models: a worker serves a handful of organizations.
        if len(_cache) > 32:
            _cache.clear()
        _cache[key] = model
    return model


def load_active_model(organization) -> PaymentModel | None:
    version = get_active(organization, ModelKind.PAYMENT)
    if version is None:
        return None
    return load_model(version)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
