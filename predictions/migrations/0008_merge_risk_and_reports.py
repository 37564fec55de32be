from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    # Two branches landed the same day: risk columns (0009_risk_at_risk_money, first named
    # 0006_risk_at_risk_money) and the payment-risk code + report schedules
    # (0006_payment_risk_code, 0007_report_schedules). The next new migration is 0010.
    dependencies = [
        ("predictions", "0009_risk_at_risk_money"),
        ("predictions", "0007_report_schedules"),
    ]

    operations = []
