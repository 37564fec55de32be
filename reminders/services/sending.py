"""Sending: exactly once per customer and step, whatever crashes.

1. In one transaction, with the reminder and its invoices locked: re-check every listed
   invoice (still open, unpaid, undisputed, not under a promise); drop the others and
   re-render, or cancel when none remain; then store the Message-ID and move to
   ``sending``. Committed before the mail leaves.
2. Hand the message to Django's e-mail backend (SMTP, or an ESP through django-anymail).
3. Record ``sent`` (or ``failed``) with the time and the provider's message id.

A crash between 2 and 3 leaves the row in ``sending``. Only one send run per organization
holds the PostgreSQL advisory lock at a time, and a killed run's lock dies with its
connection; so the next run to get the lock knows that every ``sending`` row is an
orphan. It never re-sends one: the row is flagged ``delivery_unknown`` for a person,
unless the provider's webhook has already confirmed it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from invoices.analytics import organization_today
from invoices.models import OPEN_STATUSES, ZERO, Invoice, ReminderChannel
from paypredict_project.tenancy.models import Organization
from reminders.models import (
    PromiseStatus,
    PromiseToPay,
    Reminder,
    ReminderEvent,
    ReminderItem,
    ReminderStatus,
)
from reminders.services.drafting import draft_offline
from reminders.services.planning import reminder_context

logger = logging.getLogger(__name__)

# First key of the two-key advisory lock: "reminders sending"; the second is the org id.
SEND_LOCK_KEY = 7310
CONFIRMING_EVENTS = ("sent", "delivered", "opened", "clicked")


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    cancelled: int = 0
    delivery_unknown: int = 0
    busy: bool = False

    def as_json(self) -> dict:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "cancelled": self.cancelled,
        }


@contextlib.contextmanager
def sender_lock(organization: Organization) -> Iterator[bool]:
    """True when this process is the organization's only sender (session advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SEND_LOCK_KEY, organization.pk])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [SEND_LOCK_KEY, organization.pk]
                )


def sendable(organization: Organization, today: dt.date):
    return Reminder.objects.filter(
        Q(status=ReminderStatus.APPROVED) | Q(status=ReminderStatus.DRAFT, auto_send=True),
        organization=organization,
        channel=ReminderChannel.EMAIL,
        planned_on__lte=today,
    )


def reminders_send_due(
    *, organization: Organization, codes: list | None = None, connection_=None
) -> SendResult:
    """One send pass for the organization: flag orphans, then send what is approved or
    auto-sendable (only ``codes`` when given). Returns what it did."""
    result = SendResult()
    with sender_lock(organization) as acquired:
        if not acquired:
            result.busy = True
            return result
        result.delivery_unknown = reminders_flag_orphans(organization=organization)
        today = organization_today(organization=organization)
        queue = sendable(organization, today)
        if codes is not None:
            queue = queue.filter(code__in=codes)
        ids = list(queue.order_by("planned_on", "id").values_list("id", flat=True))
        if not ids:
            return result
        # Not opened up front: a backend that cannot connect fails each reminder (recorded
        # as failed), rather than the whole run with reminders left half-way.
        mail = connection_ or get_connection()
        for reminder_id in ids:
            _send_counted(reminder_id, mail=mail, today=today, result=result)
    return result


def _send_counted(reminder_id: int, *, mail, today: dt.date, result: SendResult) -> None:
    outcome, dropped = reminder_send(reminder_id=reminder_id, mail=mail, today=today)
    result.dropped += dropped
    if outcome == ReminderStatus.SENT:
        result.sent += 1
    elif outcome == ReminderStatus.FAILED:
        result.failed += 1
    elif outcome == ReminderStatus.CANCELLED:
        result.cancelled += 1


def reminders_flag_orphans(*, organization: Organization) -> int:
    """Rows left in ``sending`` by a dead sender: confirmed by the provider → sent; otherwise
    flagged ``delivery_unknown`` (never re-sent without a person). Returns newly flagged."""
    flagged = 0
    orphans = Reminder.objects.filter(organization=organization, status=ReminderStatus.SENDING)
    for reminder in orphans.filter(delivery_unknown=False):
        confirmed = reminder.events.filter(kind__in=CONFIRMING_EVENTS).order_by("occurred_at")
        first = confirmed.first()
        if first is not None:
            Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
                status=ReminderStatus.SENT, sent_at=first.occurred_at, updated_at=timezone.now()
            )
            continue
        Reminder.objects.filter(pk=reminder.pk).update(
            delivery_unknown=True, updated_at=timezone.now()
        )
        _event(reminder, "delivery_unknown", "the sender stopped after handing the mail over")
        flagged += 1
    return flagged


def _event(reminder: Reminder, kind: str, detail: str = "") -> None:
    ReminderEvent.objects.create(
        organization_id=reminder.organization_id,
        reminder=reminder,
        kind=kind,
        detail=detail[:500],
        occurred_at=timezone.now(),
    )


def _still_remindable(invoice: Invoice, promised: set[int], promised_customers: set[int]) -> bool:
    return (
        invoice.status in OPEN_STATUSES
        and invoice.balance > ZERO
        and not invoice.disputed
        and invoice.id not in promised
        and invoice.customer_id not in promised_customers
    )


def _open_promises(reminder: Reminder, today: dt.date) -> tuple[set[int], set[int]]:
    rows = PromiseToPay.objects.filter(
        organization_id=reminder.organization_id,
        customer_id=reminder.customer_id,
        status=PromiseStatus.OPEN,
        promised_date__gte=today,
    ).values_list("invoice_id", flat=True)
    invoices = {row for row in rows if row is not None}
    customers = {reminder.customer_id} if any(row is None for row in rows) else set()
    return invoices, customers


@transaction.atomic
def reminder_prepare(*, reminder_id: int, today: dt.date) -> tuple[Reminder | None, int]:
    """Phase 1: re-check, drop / re-render / cancel, then ``sending`` (committed on return).
    Returns the reminder to send (None when there is nothing to send) and the drops."""
    reminder = (
        Reminder.objects.select_for_update(of=("self",))
        .select_related("customer__organization", "step__policy")
        .get(pk=reminder_id)
    )
    if not (
        reminder.status == ReminderStatus.APPROVED
        or (reminder.status == ReminderStatus.DRAFT and reminder.auto_send)
    ):
        return None, 0
    items = list(reminder.items.filter(dropped=False).order_by("due_date", "id"))
    invoices = Invoice.objects.select_for_update().in_bulk([item.invoice_id for item in items])
    promised, promised_customers = _open_promises(reminder, today)
    keep = [
        i for i in items if _still_remindable(invoices[i.invoice_id], promised, promised_customers)
    ]
    dropped = [item for item in items if item not in keep]
    changed = [item for item in keep if invoices[item.invoice_id].balance != item.amount]
    if dropped:
        ReminderItem.objects.filter(pk__in=[item.pk for item in dropped]).update(dropped=True)
        numbers = ", ".join(invoices[item.invoice_id].number for item in dropped)
        _event(reminder, "dropped", f"no longer open, unpaid and undisputed: {numbers}")
    if not keep:
        reminder.status = ReminderStatus.CANCELLED
        reminder.save(update_fields=["status", "updated_at"])
        return None, len(dropped)
    if dropped or changed:
        _rerender(reminder, [invoices[item.invoice_id] for item in keep], changed, today)
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "paypredict.local"
    reminder.message_id = make_msgid(idstring="reminder", domain=domain)
    reminder.status = ReminderStatus.SENDING
    reminder.sending_started_at = timezone.now()
    reminder.save(update_fields=["message_id", "status", "sending_started_at", "updated_at"])
    return reminder, len(dropped)


def _rerender(reminder: Reminder, invoices: list[Invoice], changed: list, today: dt.date) -> None:
    for item in changed:
        item.amount = next(i.balance for i in invoices if i.id == item.invoice_id)
        item.save(update_fields=["amount"])
    draft = draft_offline(reminder_context(reminder=reminder, invoices=invoices, today=today))
    reminder.subject, reminder.body_text, reminder.body_html = (
        draft.subject,
        draft.body_text,
        draft.body_html,
    )
    reminder.drafter, reminder.edited = draft.drafter, False
    reminder.save(update_fields=["subject", "body_text", "body_html", "drafter", "edited"])
    _event(reminder, "rerendered", "the invoice list changed before sending")


def reminder_message(reminder: Reminder) -> EmailMultiAlternatives:
    policy = reminder.step.policy
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    name = policy.sender_name or reminder.customer.organization.name
    message = EmailMultiAlternatives(
        subject=reminder.subject,
        body=reminder.body_text,
        from_email=formataddr((name, sender)),
        to=[reminder.to_email],
        reply_to=[policy.reply_to] if policy.reply_to else None,
        headers={"Message-ID": reminder.message_id},
    )
    if reminder.body_html:
        message.attach_alternative(reminder.body_html, "text/html")
    return message


def reminder_send(*, reminder_id: int, mail, today: dt.date) -> tuple[str, int]:
    """Prepare, hand over, record. Returns the final status and the number of drops."""
    reminder, dropped = reminder_prepare(reminder_id=reminder_id, today=today)
    if reminder is None:
        status = Reminder.objects.values_list("status", flat=True).get(pk=reminder_id)
        return status, dropped
    message = reminder_message(reminder)
    try:
        if not mail.send_messages([message]):
            raise RuntimeError("the mail backend accepted no message")
    except Exception as error:  # any backend error: the message was not accepted
        logger.warning("reminder %s not sent: %s", reminder.code, error)
        _record_failed(reminder, error)
        return ReminderStatus.FAILED, dropped
    _record_sent(reminder, _provider_message_id(message))
    return ReminderStatus.SENT, dropped


def _provider_message_id(message: EmailMultiAlternatives) -> str:
    status = getattr(message, "anymail_status", None)
    return getattr(status, "message_id", None) or ""


@transaction.atomic
def _record_sent(reminder: Reminder, provider_id: str) -> None:
    now = timezone.now()
    Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
        status=ReminderStatus.SENT,
        sent_at=now,
        message_id=provider_id or reminder.message_id,
        delivery_status="sent",
        updated_at=now,
    )
    _event(
        reminder, "sent", f"accepted by the mail backend as {provider_id or reminder.message_id}"
    )


@transaction.atomic
def _record_failed(reminder: Reminder, error: Exception) -> None:
    Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
        status=ReminderStatus.FAILED, last_error=str(error)[:500], updated_at=timezone.now()
    )
    _event(reminder, "failed", str(error))
