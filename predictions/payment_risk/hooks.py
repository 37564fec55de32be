"""How payment risk follows the ledger: its after-commit signals and its page slots.

Every way a payment arrives (API, HTML form, CSV import, integration sync, change events)
goes through the ledger's services, which announce it after commit. One payment is scored
right there (it takes a few milliseconds; a failure is logged, never raised into the
ledger write); a bulk CSV import announces itself once and is scored by a Celery task.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def connect_payment_risk() -> None:
    from invoices.signals import ledger_imported, payment_changed
    from predictions.payment_risk.page_slots import register_payment_risk_slots

    payment_changed.connect(_payment_changed, dispatch_uid="predictions.payment_risk")
    ledger_imported.connect(_ledger_imported, dispatch_uid="predictions.payment_risk.import")
    register_payment_risk_slots()


def _payment_changed(sender, payment_id, organization_id, **kwargs) -> None:
    from predictions.payment_risk.services import payment_risk_score_changed

    try:
        payment_risk_score_changed(organization_id=organization_id, payment_id=payment_id)
    except Exception:  # risk scoring must never fail a ledger write
        logger.exception("could not score the risk of payment %s", payment_id)


def _ledger_imported(sender, organization_id, kind, **kwargs) -> None:
    if kind != "payments":
        return
    from predictions.tasks import payment_risk_score_task

    try:
        payment_risk_score_task.delay(organization_id)
    except Exception:
        logger.exception("could not schedule payment risk scoring for %s", organization_id)
