"""The ledger: customers, invoices with lines, payments with allocations, exchange rates.

Every row belongs to an Organization. Money is Decimal(18, 2) beside its ISO currency.
Balances and statuses are written only by invoices.services, which keep them in step
with allocations; the database constraints below are the last line of defence.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from paypredict_project.tenancy.models import Organization, currency_validator

MONEY = {"max_digits": 18, "decimal_places": 2}
ZERO = Decimal("0.00")


class Source(models.TextChoices):
    MANUAL = "manual", "Manual"
    API = "api", "API"
    CSV = "csv", "CSV import"
    DEMO = "demo", "Demo data"
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"
    # Change events of a payment system's database (Debezium), applied by integrations.cdc.
    STREAM = "stream", "Change stream"


class TimestampedModel(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone call"


class Customer(TimestampedModel):
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=128, blank=True, default="")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    contacts = models.JSONField(default=list, blank=True)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    credit_limit = models.DecimalField(**MONEY, null=True, blank=True)
    credit_score = models.PositiveSmallIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=80, blank=True, default="")
    country = models.CharField(max_length=8, blank=True, default="")
    reminder_channel = models.CharField(
        max_length=16, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL
    )
    reminder_contact = models.CharField(max_length=200, blank=True, default="")
    reminder_language = models.CharField(max_length=8, default="en")
    do_not_remind = models.BooleanField(default=False)
    notes = models.TextField(blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    risk_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    risk_level = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                name="customer_credit_limit_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    WRITTEN_OFF = "written_off", "Written off"


# ---- Status sets: their one home. SQL fragments are built from them (status_sql), and
# status_for_balance / status_for_balance_sql are the one rule, in Python and in SQL.
# Money is still owed: the invoice belongs on the worklist.
OPEN_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
# Closed without being paid; nothing changes them again.
CLOSED_STATUSES = (InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF)
# A balance change never moves these, and no payment can be applied to them.
FIXED_STATUSES = (InvoiceStatus.DRAFT, *CLOSED_STATUSES)
# Were ever real receivables (KPIs, trends); draft, void and written off never count.
RECEIVABLE_STATUSES = (*OPEN_STATUSES, InvoiceStatus.PAID)


def status_sql(statuses: tuple[str, ...]) -> str:
    """A status set as a SQL list literal, e.g. "('void', 'written_off')" (our constants only,
    never user input)."""
    return "(" + ", ".join(f"'{InvoiceStatus(status).value}'" for status in statuses) + ")"


def status_for_balance(*, total: Decimal, balance: Decimal, current: str) -> str:
    """Paid / partially paid / open follow from the balance; draft, void and written off stay."""
    if current in FIXED_STATUSES:
        return current
    if balance == 0:
        return InvoiceStatus.PAID
    if balance < total:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def status_for_balance_sql(*, paid: str, total: str, current: str) -> str:
    """status_for_balance as a SQL expression over the amount applied (``paid``)."""
    return (
        f"CASE WHEN {current} IN {status_sql(FIXED_STATUSES)} THEN {current} "
        f"WHEN {paid} >= {total} THEN '{InvoiceStatus.PAID.value}' "
        f"WHEN {paid} > 0 THEN '{InvoiceStatus.PARTIALLY_PAID.value}' "
        f"ELSE '{InvoiceStatus.OPEN.value}' END"
    )


class Invoice(TimestampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=128, blank=True, default="")
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY)
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    disputed = models.BooleanField(default=False)
    po_number = models.CharField(max_length=64, blank=True, default="")
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # The date the balance reached zero (from allocations, or as reported by the source system).
    paid_date = models.DateField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="invoice_unique_number"
            ),
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="invoice_unique_external_id",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_non_negative"),
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(balance__lte=F("total")),
                name="invoice_balance_within_total",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")), name="invoice_due_after_issue"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"
            ),
        ]
        indexes = [
            # Worklist and aging read open invoices by due date; risk features read per customer.
            models.Index(fields=["organization", "customer", "due_date"]),
            models.Index(fields=["organization", "status", "due_date"]),
            # The collector's worklist: open and partially paid invoices, oldest due first.
            # Partial, so it stays small and the default worklist page reads it in order.
            models.Index(
                fields=["organization", "due_date", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="invoice_open_worklist_idx",
            ),
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "issue_date"]),
            # The API pages by keyset over (sort field, code): one index per sortable field,
            # ending in the tie-breaker, so a page is an index range read in order.
            models.Index(
                fields=["organization", "issue_date", "code"], name="invoice_keyset_issue_idx"
            ),
            models.Index(
                fields=["organization", "due_date", "code"], name="invoice_keyset_due_idx"
            ),
            models.Index(fields=["organization", "total", "code"], name="invoice_keyset_total_idx"),
            models.Index(
                fields=["organization", "balance", "code"], name="invoice_keyset_balance_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_paid(self) -> Decimal:
        return self.total - self.balance


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    amount = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="line_quantity_non_negative"),
            models.CheckConstraint(condition=Q(tax__gte=0), name="line_tax_non_negative"),
        ]

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    ACH = "ach", "ACH"
    WIRE = "wire", "Wire"
    CHECK = "check", "Check"
    SEPA = "sepa", "SEPA"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


class ReconciliationStatus(models.TextChoices):
    """Where a payment stands between the processor and the bank.

    PENDING: cash received, not (fully) matched to invoices. RECONCILED: the whole amount is
    applied to invoices. SETTLED: deposited in a settled batch (the last step, whatever the
    matching; unapplied cash of a settled payment still shows as unallocated)."""

    PENDING = "pending", "Pending"
    RECONCILED = "reconciled", "Reconciled"
    SETTLED = "settled", "Settled"


class SettlementSource(models.TextChoices):
    """Where a settlement batch, or a payment's reconciliation, came from."""

    MANUAL = "manual", "Manual"
    CSV = "csv", "CSV import"
    STREAM = "stream", "Change stream"
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"
    # Only for a payment's reconciliation: matched by cash application (invoices.cash_application).
    AUTO = "auto", "Cash application"


# A batch is never created by cash application.
BATCH_SOURCES = tuple(s for s in SettlementSource if s != SettlementSource.AUTO)


class SettlementKind(models.TextChoices):
    PAYOUT = "payout", "Processor payout"
    DEPOSIT = "deposit", "Bank deposit"


class SettlementStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SETTLED = "settled", "Settled"
    # Withdrawn at the source (a deleted row upstream): kept, its payments released.
    VOID = "void", "Void"


class SettlementBatch(TimestampedModel):
    """A processor payout or bank deposit: the cash of many payments arriving at once.

    Written only by invoices.services.settlements; net = gross - fees is checked there and
    by the database."""

    kind = models.CharField(
        max_length=16, choices=SettlementKind.choices, default=SettlementKind.PAYOUT
    )
    processor = models.CharField(max_length=64)
    reference = models.CharField(max_length=128, blank=True, default="")
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    gross = models.DecimalField(**MONEY)
    fees = models.DecimalField(**MONEY, default=ZERO)
    net = models.DecimalField(**MONEY)
    status = models.CharField(
        max_length=16, choices=SettlementStatus.choices, default=SettlementStatus.PENDING
    )
    expected_settle_date = models.DateField()
    # The moment the money landed (the actual settle date, with its time for lag in hours).
    settled_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(
        max_length=16, choices=SettlementSource.choices, default=SettlementSource.MANUAL
    )
    external_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-expected_settle_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="settlement_unique_external_id",
            ),
            models.CheckConstraint(condition=Q(gross__gte=0), name="settlement_gross_non_negative"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="settlement_fees_non_negative"),
            models.CheckConstraint(
                condition=Q(net=F("gross") - F("fees")), name="settlement_net_is_gross_less_fees"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SettlementStatus.values), name="settlement_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=SettlementStatus.SETTLED) | Q(settled_at__isnull=False),
                name="settlement_settled_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "expected_settle_date"]),
            models.Index(fields=["organization", "processor"]),
            models.Index(
                fields=["organization", "expected_settle_date", "code"],
                name="settlement_keyset_expected_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference or self.code} ({self.status})"


class Payment(TimestampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=128, blank=True, default="")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    received_at = models.DateTimeField()
    method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.ACH
    )
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED
    )
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    processor = models.CharField(max_length=64, blank=True, default="")
    reference = models.CharField(max_length=128, blank=True, default="")
    # A retried card/ACH charge points at the failed attempt it replaces.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # What the processor kept of this payment (card/ACH fees); the batch's fees add them up.
    fee = models.DecimalField(**MONEY, default=ZERO)
    reconciliation_status = models.CharField(
        max_length=16, choices=ReconciliationStatus.choices, default=ReconciliationStatus.PENDING
    )
    # Who matched it (manual, csv, stream, quickbooks, xero, auto); empty while pending.
    reconciliation_source = models.CharField(
        max_length=16, choices=SettlementSource.choices, blank=True, default=""
    )
    reconciled_at = models.DateTimeField(null=True, blank=True)
    settlement_batch = models.ForeignKey(
        SettlementBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="payment_unique_external_id",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(fee__lte=F("amount")), name="payment_fee_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(reconciliation_status__in=ReconciliationStatus.values),
                name="payment_reconciliation_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(reconciliation_status=ReconciliationStatus.SETTLED)
                | Q(settlement_batch__isnull=False),
                name="payment_settled_has_batch",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "customer", "received_at"]),
            models.Index(fields=["organization", "status", "received_at"]),
            models.Index(fields=["organization", "-created_at"]),
            models.Index(
                fields=["organization", "received_at", "code"], name="payment_keyset_received_idx"
            ),
            models.Index(
                fields=["organization", "amount", "code"], name="payment_keyset_amount_idx"
            ),
            models.Index(
                fields=["organization", "reconciliation_status", "received_at"],
                name="payment_reconciliation_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class PaymentAllocation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_unique_pair"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id} to {self.invoice_id}"


class InvoiceCredit(models.Model):
    """A credit note against one invoice: it lowers the balance like a payment does, but no
    cash moves (a dispute settled by a credit, a price adjustment). Written only by
    ``invoices.services.invoice_credit_note``."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=255, blank=True, default="")
    # What issued it, e.g. "dispute:<uuid>", so a consumer can find its own credits.
    reference = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"credit {self.amount} on {self.invoice_id}"


class ProcessorSla(models.Model):
    """How long a processor may take to settle a payment before it counts as an SLA breach."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    processor = models.CharField(max_length=64)
    settle_within_hours = models.PositiveIntegerField()

    class Meta:
        ordering = ["processor"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "processor"], name="processor_sla_unique"
            ),
            models.CheckConstraint(
                condition=Q(settle_within_hours__gt=0), name="processor_sla_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.processor}: {self.settle_within_hours} h"


class CashApplicationSettings(models.Model):
    """An organization's cash-application policy: below ``auto_apply_threshold`` a match
    only becomes a suggestion in the queue; a short payment within ``short_pay_tolerance``
    (a fraction of the invoice balance) may still be applied."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    auto_apply_threshold = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.950")
    )
    short_pay_tolerance = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.020")
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_apply_threshold__gte=0) & Q(auto_apply_threshold__lte=1),
                name="cash_application_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(short_pay_tolerance__gte=0) & Q(short_pay_tolerance__lt=1),
                name="cash_application_tolerance_range",
            ),
        ]

    def __str__(self) -> str:
        return f"auto-apply at {self.auto_apply_threshold}"


class ExchangeRate(models.Model):
    """1 unit of ``currency`` = ``rate`` units of the organization's base currency on ``date``."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    date = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency", "date"], name="exchange_rate_unique_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.date} {self.rate}"


class CsvUploadStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class CsvUpload(TimestampedModel):
    """A CSV uploaded from the dashboard, kept between the preview, mapping and result steps."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16)
    file = models.FileField(upload_to="csv_uploads/%Y/%m/")
    original_name = models.CharField(max_length=255)
    # The mapping as JSON (the same document a mapping file holds); empty until chosen.
    mapping = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CsvUploadStatus.choices, default=CsvUploadStatus.UPLOADED
    )
    result = models.JSONField(null=True, blank=True)
    failure = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} upload {self.original_name}"


class DemoPaymentAnomaly(models.Model):
    """Ground truth of the anomalies ``seed_demo`` planted (invoices/demo/anomalies.py).

    Kept apart from the payment so no detector can see it: only the payment-risk
    evaluation reads this table (through ``selectors.demo_payment_anomaly_list``)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["organization", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.payment_id})"
