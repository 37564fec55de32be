from __future__ import annotations

from decimal import Decimal

from django import forms

from reminders.models import ReminderStatus


class ReminderEditForm(forms.Form):
    subject = forms.CharField(max_length=300, min_length=3)
    body_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}), min_length=20)


QUEUE_STATUSES = [
    ("pending", "To review or send"),
    ("unknown", "Delivery unknown"),
    *ReminderStatus.choices,
]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(choices=QUEUE_STATUSES, required=False)
    step = forms.CharField(required=False, max_length=16)
    risk = forms.ChoiceField(
        choices=[("", "Any"), ("high", "High"), ("medium", "Medium"), ("low", "Low")],
        required=False,
    )


class PromiseForm(forms.Form):
    promised_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))
    note = forms.CharField(max_length=500, required=False)
