from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from disputes import services
from disputes.models import Dispute, DisputeEvent, DisputeStatus
from invoices.models import InvoiceCredit, InvoiceStatus
from paypredict_project.tenancy.models import AuditLog
from tests.disputes.factories import DisputeFactory
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory


@pytest.fixture
def invoice(org):
    return InvoiceFactory(customer=CustomerFactory(organization=org), total=Decimal("500.00"))


def _open(invoice, **kwargs):
    return services.dispute_open(
        organization=invoice.organization,
        invoice=invoice,
        text=kwargs.pop("text", "Unit price should be 9.00, not 10.00."),
        classify=False,
        **kwargs,
    )


def test_open_sets_disputed_flag_sla_and_event(invoice, collector):
    dispute = _open(invoice, amount=Decimal("50"), user=collector)
    invoice.refresh_from_db()
    assert invoice.disputed is True
    assert dispute.customer_id == invoice.customer_id
    assert dispute.currency == invoice.currency
    assert dispute.status == DisputeStatus.OPEN
    assert dispute.sla_due_at == dispute.opened_at + dt.timedelta(
        hours=services.UNCLASSIFIED_SLA_HOURS
    )
    assert list(dispute.events.values_list("action", flat=True)) == ["open"]
    assert AuditLog.objects.filter(action="dispute.open", object_code=str(dispute.code)).exists()


def test_second_open_dispute_on_one_invoice_is_refused(invoice):
    _open(invoice)
    with pytest.raises(ValidationError) as exc:
        _open(invoice, text="again")
    assert "already has an open dispute" in str(exc.value)
    assert Dispute.objects.filter(invoice=invoice).count() == 1


def test_database_enforces_one_active_dispute_per_invoice(invoice):
    DisputeFactory(invoice=invoice)
    with pytest.raises(IntegrityError):
        DisputeFactory(invoice=invoice, status=DisputeStatus.IN_REVIEW)


def test_a_new_dispute_may_follow_a_closed_one(invoice):
    first = _open(invoice)
    services.dispute_reject(dispute=first, reason="Price is per the signed quote.")
    second = _open(invoice, text="Now the quantity is wrong.")
    assert second.status == DisputeStatus.OPEN
    invoice.refresh_from_db()
    assert invoice.disputed is True


def test_other_organizations_invoice_is_refused(invoice, other_org):
    with pytest.raises(ValidationError):
        services.dispute_open(organization=other_org, invoice=invoice, text="x", classify=False)


def test_empty_text_and_unknown_category_are_refused(invoice):
    with pytest.raises(ValidationError) as exc:
        _open(invoice, text="  ")
    assert "text" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _open(invoice, category="rude_customer")
    assert "category" in exc.value.message_dict


def test_credit_note_resolution_lowers_balance_and_clears_flag(invoice, collector):
    dispute = _open(invoice)
    services.dispute_resolve(
        dispute=dispute, resolution="credit_note", amount=Decimal("40.00"), user=collector
    )
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert invoice.balance == Decimal("460.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.disputed is False
    assert dispute.status == DisputeStatus.RESOLVED
    assert dispute.resolution_amount == Decimal("40.00")
    assert dispute.resolved_at is not None
    credit = InvoiceCredit.objects.get(invoice=invoice)
    assert credit.reference == f"dispute:{dispute.code}"


def test_credit_beyond_balance_leaves_nothing_half_done(invoice):
    dispute = _open(invoice)
    with pytest.raises(ValidationError):
        services.dispute_resolve(dispute=dispute, resolution="credit_note", amount=Decimal("600"))
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.status == DisputeStatus.OPEN
    assert invoice.balance == Decimal("500.00")
    assert invoice.disputed is True
    assert not InvoiceCredit.objects.exists()
    assert not DisputeEvent.objects.filter(action="resolve").exists()


def test_payment_applied_resolution_allocates_unapplied_cash(invoice):
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("500.00"))
    dispute = _open(invoice, text="We paid this on 3 Nov by wire.")
    services.dispute_resolve(dispute=dispute, resolution="payment_applied", payment=payment)
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert invoice.balance == Decimal("0.00")
    assert invoice.status == InvoiceStatus.PAID
    assert dispute.resolution_amount == Decimal("500.00")


def test_credit_then_payment_cannot_over_apply(invoice):
    dispute = _open(invoice)
    services.dispute_resolve(dispute=dispute, resolution="credit_note", amount=Decimal("100"))
    payment = PaymentFactory(customer=invoice.customer, amount=Decimal("500.00"))
    from invoices import services as ledger

    with pytest.raises(ValidationError):
        ledger.payment_allocate(payment=payment, invoice=invoice, amount=Decimal("450"))
    ledger.payment_allocate(payment=payment, invoice=invoice, amount=Decimal("400"))
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00")


def test_written_off_resolution_writes_off_invoice(invoice):
    dispute = _open(invoice)
    services.dispute_resolve(dispute=dispute, resolution="written_off")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    assert invoice.disputed is False


def test_reject_needs_reason_and_closed_dispute_cannot_change(invoice):
    dispute = _open(invoice)
    with pytest.raises(ValidationError):
        services.dispute_reject(dispute=dispute, reason="")
    services.dispute_reject(dispute=dispute, reason="Delivered, POD signed by J. Doe.")
    with pytest.raises(ValidationError):
        services.dispute_resolve(dispute=dispute, resolution="documents_sent")
    invoice.refresh_from_db()
    assert invoice.disputed is False


def test_confirm_category_and_sla_follow_organization_policy(invoice, collector):
    services.dispute_sla_set(organization=invoice.organization, category="tax_or_fees", hours=10)
    dispute = _open(invoice)
    dispute = services.dispute_confirm_category(
        dispute=dispute, category="tax_or_fees", user=collector
    )
    assert dispute.category == "tax_or_fees"
    assert dispute.needs_review is False
    assert dispute.sla_due_at == dispute.opened_at + dt.timedelta(hours=10)
    assert dispute.events.last().action == "correct"


def test_assign_moves_to_review_and_refuses_outsider(invoice, collector, outsider):
    dispute = _open(invoice)
    assert services.dispute_assign(disputes=[dispute], assignee=collector) == 1
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.IN_REVIEW
    assert dispute.assignee == collector
    with pytest.raises(ValidationError):
        services.dispute_assign(disputes=[dispute], assignee=outsider)


def test_unlinked_dispute_links_later(invoice):
    dispute = services.dispute_open(
        organization=invoice.organization,
        text="Where is our delivery?",
        channel="email",
        classify=False,
    )
    assert dispute.invoice is None
    services.dispute_link_invoice(dispute=dispute, invoice=invoice)
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert invoice.disputed is True
    assert dispute.customer_id == invoice.customer_id
