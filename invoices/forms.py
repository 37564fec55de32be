"""Forms of the HTML dashboard. They validate input; the writes go through invoices.services."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from invoices.models import Customer, ReminderChannel

# Languages reminders can be drafted in. Kept short on purpose: each one needs templates.
REMINDER_LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
]

# A phone number as people type it: digits with optional +, spaces, dots, dashes, brackets.
PHONE_RE = re.compile(r"^\+?[0-9 ().\-]{7,25}$")


class CustomerPreferencesForm(forms.Form):
    reminder_channel = forms.ChoiceField(label="Reminder channel", choices=ReminderChannel.choices)
    reminder_contact = forms.CharField(
        label="Reminder contact",
        required=False,
        max_length=200,
        help_text="E-mail address, phone number or postal address, depending on the channel. "
        "Leave empty to use the customer's main e-mail or phone.",
    )
    reminder_language = forms.ChoiceField(label="Language", choices=REMINDER_LANGUAGES)
    do_not_remind = forms.BooleanField(label="Do not send reminders", required=False)
    notes = forms.CharField(
        label="Notes", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        self.customer = customer
        kwargs.setdefault(
            "initial",
            {
                "reminder_channel": customer.reminder_channel,
                "reminder_contact": customer.reminder_contact,
                "reminder_language": customer.reminder_language,
                "do_not_remind": customer.do_not_remind,
                "notes": customer.notes,
            },
        )
        super().__init__(*args, **kwargs)
        # A language stored by an import that is not in our list stays selectable.
        language = customer.reminder_language
        if language and language not in dict(REMINDER_LANGUAGES):
            self.fields["reminder_language"].choices = [
                *REMINDER_LANGUAGES,
                (language, language),
            ]

    def clean_reminder_contact(self) -> str:
        return self.cleaned_data["reminder_contact"].strip()

    def clean(self) -> dict:
        cleaned = super().clean()
        channel = cleaned.get("reminder_channel")
        contact = cleaned.get("reminder_contact", "")
        if channel is None or self.has_error("reminder_contact"):
            return cleaned
        if channel == ReminderChannel.EMAIL:
            if contact:
                try:
                    validate_email(contact)
                except ValidationError:
                    self.add_error(
                        "reminder_contact",
                        f"{contact!r} is not a valid e-mail address; the e-mail channel needs one",
                    )
            elif not self.customer.email:
                self.add_error(
                    "reminder_contact",
                    "the customer has no e-mail address on file; "
                    "enter one here to send reminders by e-mail",
                )
        elif channel in (ReminderChannel.SMS, ReminderChannel.PHONE):
            if contact and not PHONE_RE.match(contact):
                self.add_error(
                    "reminder_contact",
                    f"{contact!r} is not a phone number (digits, spaces, + - . ( ) only, "
                    "at least 7 characters)",
                )
            elif not contact and not self.customer.phone:
                self.add_error(
                    "reminder_contact",
                    "the customer has no phone number on file; enter one for this channel",
                )
        elif channel == ReminderChannel.LETTER and not contact:
            self.add_error("reminder_contact", "enter the postal address letters go to")
        return cleaned
