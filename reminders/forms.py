from __future__ import annotations

from decimal import Decimal

from django import forms

from reminders.models import DunningPolicy, DunningStep, ReminderStatus


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


class PolicyForm(forms.ModelForm):
    class Meta:
        model = DunningPolicy
        fields = ["name", "sender_name", "reply_to", "payment_instructions", "holdout_share"]
        widgets = {"payment_instructions": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "holdout_share": "0 to 0.5: share of customers left out of non-final steps, "
            "to measure what each step brings in",
        }


StepFormSet = forms.inlineformset_factory(
    DunningPolicy,
    DunningStep,
    fields=[
        "key",
        "name",
        "offset_days",
        "tone",
        "requires_approval",
        "high_risk_shift_days",
        "high_risk_tone",
        "low_risk_shift_days",
        "low_risk_tone",
    ],
    extra=1,
    can_delete=True,
)
