"""Inbound e-mail → disputes, through django-anymail's Mailgun inbound webhook.

Mailgun's receiving route forwards each message (``forward()`` action) to
``/anymail/mailgun/inbound/``; anymail checks Mailgun's HMAC signature (timestamp + token,
``MAILGUN_WEBHOOK_SIGNING_KEY``) and, only when it is right, sends its ``inbound`` signal,
which this module turns into a dispute.

The organization is the ``+tag`` of the recipient: ``disputes+<org slug>@your-inbound-domain``.
The invoice is the first invoice number of that organization found in the subject or body;
otherwise, when the mail replies to one of our reminders (its ``In-Reply-To``/``References``
quote the reminder's Message-ID, looked up through ``paypredict_project.mail_threads``), the
reminder's customer, and its invoice when it listed exactly one. With neither the dispute lands
unlinked in the queue for a collector to link.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from disputes import services
from disputes.models import Dispute, DisputeChannel
from invoices.models import Customer, Invoice
from paypredict_project import mail_threads
from paypredict_project.tenancy.models import Organization

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]{2,}")


def inbound_view() -> Callable[[HttpRequest], HttpResponse]:
    """anymail's Mailgun inbound view, answering 404 until its signing key is configured."""
    from anymail.webhooks.mailgun import MailgunInboundWebhookView

    view = MailgunInboundWebhookView.as_view()

    @csrf_exempt
    def webhook(request: HttpRequest) -> HttpResponse:
        if not getattr(settings, "ANYMAIL", {}).get("MAILGUN_WEBHOOK_SIGNING_KEY"):
            raise Http404("mailgun inbound is not configured")
        return view(request)

    return webhook


def connect() -> None:
    from anymail.signals import inbound

    inbound.connect(_on_inbound, dispatch_uid="disputes.anymail_inbound")


def _organization(recipient: str) -> Organization | None:
    local = recipient.split("@", 1)[0]
    if "+" not in local:
        return None
    return Organization.objects.filter(slug=local.split("+", 1)[1].lower()).first()


def _invoice(organization: Organization, text: str) -> Invoice | None:
    tokens = {t.strip(".-/") for t in TOKEN.findall(text)}
    candidates = Invoice.objects.filter(organization=organization, number__in=tokens)
    return candidates.order_by("-issue_date").first()


def dispute_from_email(
    *,
    recipient: str,
    sender: str,
    subject: str,
    text: str,
    in_reply_to: str = "",
    references: str = "",
) -> Dispute | None:
    organization = _organization(recipient)
    if organization is None:
        logger.warning("inbound mail to %s: no organization tag, dropped", recipient)
        return None
    thread = mail_threads.resolve(
        organization_id=organization.id,
        message_ids=mail_threads.referenced_message_ids(
            in_reply_to=in_reply_to, references=references
        ),
    )
    invoice = _invoice(organization, f"{subject}\n{text}")
    if invoice is None and thread is not None and len(thread.invoice_ids) == 1:
        invoice = Invoice.objects.filter(
            organization=organization, pk=thread.invoice_ids[0]
        ).first()
    if invoice is not None and invoice.disputes.filter(status__in=("open", "in_review")).exists():
        # A follow-up on an open dispute: keep it unlinked rather than refuse the mail.
        invoice = None
    customer = None
    if invoice is None and thread is not None and thread.customer_id:
        customer = Customer.objects.filter(organization=organization, pk=thread.customer_id).first()
    if invoice is None and customer is None and sender:
        customer = Customer.objects.filter(organization=organization, email__iexact=sender).first()
    return services.dispute_open(
        organization=organization,
        invoice=invoice,
        customer=customer,
        text=text or subject or "(empty message)",
        subject=subject,
        sender=sender,
        channel=DisputeChannel.EMAIL,
    )


def _on_inbound(sender, event, esp_name: str, **kwargs) -> None:
    message = event.message
    from_email = message.from_email.addr_spec if message.from_email else ""
    from_email = from_email or message.envelope_sender or ""
    recipient = message.envelope_recipient or (message.to[0].addr_spec if message.to else "")
    dispute_from_email(
        recipient=recipient,
        sender=from_email,
        subject=message.subject or "",
        text=(message.stripped_text or message.text or "").strip(),
        in_reply_to=str(message.get("In-Reply-To") or ""),
        references=str(message.get("References") or ""),
    )
