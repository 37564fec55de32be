from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self) -> None:
        # The ledger announces changes; predictions subscribe (the ledger imports nothing here).
        from invoices.signals import invoice_changed, ledger_imported, payment_changed

        invoice_changed.connect(_invoice_changed, dispatch_uid="predictions.invoice_changed")
        payment_changed.connect(_payment_changed, dispatch_uid="predictions.payment_changed")
        ledger_imported.connect(_ledger_imported, dispatch_uid="predictions.ledger_imported")
        from predictions.payment_risk.hooks import connect_payment_risk

        connect_payment_risk()
        # Panels, worklist columns, sort keys and the risk filter on the ledger's pages.
        from predictions.page_slots import register_page_slots

        register_page_slots()


def _invoice_changed(sender, invoice_id, organization_id, **kwargs) -> None:
    from predictions.services.rescoring import on_invoice_changed

    try:
        on_invoice_changed(invoice_id=invoice_id, organization_id=organization_id)
    except Exception:  # a rescoring hiccup must never fail a ledger write
        logger.exception("could not schedule rescoring for invoice %s", invoice_id)


def _payment_changed(sender, payment_id, organization_id, **kwargs) -> None:
    from predictions.services.rescoring import on_payment_changed

    try:
        on_payment_changed(payment_id=payment_id, organization_id=organization_id)
    except Exception:
        logger.exception("could not schedule rescoring for payment %s", payment_id)


def _ledger_imported(sender, organization_id, kind, **kwargs) -> None:
    from predictions.services.rescoring import on_ledger_imported

    try:
        on_ledger_imported(organization_id=organization_id, kind=kind)
    except Exception:
        logger.exception("could not schedule rescoring after an import into %s", organization_id)
