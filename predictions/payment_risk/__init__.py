"""Payment risk flags (F29): anomalous incoming payments, scored with a reason.

``ml.payment_risk`` holds the features and the detector (pure code); this package loads the
ledger's payments through its selectors, stores ``PaymentRisk`` rows, reacts to the
ledger's ``payment_changed`` / ``ledger_imported`` signals and serves the pages and API.
See docs/ml.md, "Payment risk".
"""
