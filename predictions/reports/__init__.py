"""Reports (F25): daily summary, failed payments, SLA breaches, high risk, AR summary."""
