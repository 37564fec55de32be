"""The review queue's writes: approve, bulk approve, reject, edit, resolve "delivery unknown".

Every transition is a conditional UPDATE on the current status, so two reviewers clicking
at once (or a reviewer and the sender) cannot both win.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoices.analytics import organization_today
from paypredict_project.audit import audit_record
from paypredict_project.tenancy.models import Organization
from reminders.models import PENDING_STATUSES, Reminder, ReminderStatus
from reminders.services.drafting import html_from_text
from reminders.services.planning import reminder_context


def _transition(
    *, reminder: Reminder, allowed: tuple[str, ...], to: str, action: str, **fields
) -> Reminder:
    updated = Reminder.objects.filter(pk=reminder.pk, status__in=allowed).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if not updated:
        reminder.refresh_from_db(fields=["status"])
        raise ValidationError(
            f"the reminder is {reminder.get_status_display().lower()}; it cannot be {action}"
        )
    audit_record(
        organization=reminder.organization,
        action=f"reminder.{action}",
        instance=reminder,
        before={"status": reminder.status},
        after={"status": to},
    )
    reminder.refresh_from_db()
    return reminder


@transaction.atomic
def reminder_approve(*, reminder: Reminder, user) -> Reminder:
    return _transition(
        reminder=reminder,
        allowed=(ReminderStatus.DRAFT,),
        to=ReminderStatus.APPROVED,
        action="approved",
        approved_by=user if getattr(user, "pk", None) else None,
        approved_at=timezone.now(),
    )


@transaction.atomic
def reminders_approve_bulk(*, organization: Organization, codes: list | None, user) -> int:
    """Approve the given drafts (``None``: every draft of the organization). Returns the count."""
    drafts = Reminder.objects.filter(organization=organization, status=ReminderStatus.DRAFT)
    if codes is not None:
        drafts = drafts.filter(code__in=codes)
    approved = 0
    for reminder in drafts.select_for_update(skip_locked=True):
        reminder_approve(reminder=reminder, user=user)
        approved += 1
    return approved


@transaction.atomic
def reminder_reject(*, reminder: Reminder, user) -> Reminder:
    return _transition(
        reminder=reminder, allowed=PENDING_STATUSES, to=ReminderStatus.REJECTED, action="rejected"
    )


@transaction.atomic
def reminder_edit(*, reminder: Reminder, subject: str, body_text: str, user) -> Reminder:
    """A reviewer's own wording; the HTML part is rebuilt from it in the same layout."""
    subject, body_text = " ".join(subject.split()), body_text.strip()
    errors = {}
    if not 3 <= len(subject) <= 300:
        errors["subject"] = "must be 3 to 300 characters"
    if len(body_text) < 20:
        errors["body_text"] = "must be at least 20 characters"
    if errors:
        raise ValidationError(errors)
    locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.status not in PENDING_STATUSES:
        raise ValidationError(f"the reminder is {locked.status}; only drafts can be edited")
    invoices = [
        item.invoice for item in locked.items.filter(dropped=False).select_related("invoice")
    ]
    today = organization_today(organization=locked.organization)
    context = reminder_context(reminder=locked, invoices=invoices, today=today)
    locked.subject, locked.body_text = subject, body_text + "\n"
    locked.body_html = html_from_text(context, locked.body_text)
    locked.edited = True
    locked.save(update_fields=["subject", "body_text", "body_html", "edited", "updated_at"])
    audit_record(organization=locked.organization, action="reminder.edited", instance=locked)
    return locked


@transaction.atomic
def reminder_resolve_unknown(*, reminder: Reminder, delivered: bool, user) -> Reminder:
    """A person decides what happened to a reminder whose delivery is unknown: it arrived
    (mark sent) or it did not (back to approved, so the next send run sends it)."""
    if not reminder.delivery_unknown:
        raise ValidationError("the reminder's delivery is not in question")
    if delivered:
        return _transition(
            reminder=reminder,
            allowed=(ReminderStatus.SENDING,),
            to=ReminderStatus.SENT,
            action="confirmed_sent",
            delivery_unknown=False,
            sent_at=reminder.sending_started_at or timezone.now(),
        )
    return _transition(
        reminder=reminder,
        allowed=(ReminderStatus.SENDING,),
        to=ReminderStatus.APPROVED,
        action="released_for_resend",
        delivery_unknown=False,
    )
