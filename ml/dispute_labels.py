"""The ten dispute categories the classifier predicts (F31), in a fixed order.

Pure data, importable without torch: the disputes app's model choices and the classifier's
label ids both come from here.
"""

from __future__ import annotations

DISPUTE_LABELS: tuple[str, ...] = (
    "pricing_error",
    "quantity_mismatch",
    "damaged_or_defective",
    "not_received",
    "duplicate_billing",
    "already_paid",
    "tax_or_fees",
    "terms_or_discount",
    "late_delivery",
    "billing_details",
)

LABEL_NAMES: dict[str, str] = {
    "pricing_error": "Pricing error",
    "quantity_mismatch": "Quantity mismatch",
    "damaged_or_defective": "Damaged or defective",
    "not_received": "Not received",
    "duplicate_billing": "Duplicate billing",
    "already_paid": "Already paid",
    "tax_or_fees": "Tax or fees",
    "terms_or_discount": "Terms or discount",
    "late_delivery": "Late delivery",
    "billing_details": "Billing details",
}
