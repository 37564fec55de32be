from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    # Two branches landed the same day: risk columns (0006_risk_at_risk_money) and the
    # payment-risk code + report schedules (0006_payment_risk_code, 0007_report_schedules).
    dependencies = [
        ("predictions", "0006_risk_at_risk_money"),
        ("predictions", "0007_report_schedules"),
    ]

    operations = []
