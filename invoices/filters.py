"""One definition of every ledger filter, shared by the API, the HTMX worklists and CSV exports.

Query parameters are the same everywhere, so a worklist URL's query string can be handed to
the export view or the API unchanged.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.utils import timezone

from invoices.analytics import organization_today
from invoices.models import (
    OPEN_STATUSES,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconciliationStatus,
    SettlementBatch,
    SettlementKind,
    SettlementSource,
    SettlementStatus,
)
from paypredict_project import slots
from paypredict_project.filtering import StrictBooleanFilter


class InvoiceFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label="Search number, customer or PO")
    # distinct=False: no join can duplicate rows here, and DISTINCT would sort the whole result.
    status = filters.MultipleChoiceFilter(choices=InvoiceStatus.choices, distinct=False)
    customer = filters.UUIDFilter(field_name="customer__code")
    disputed = StrictBooleanFilter()
    overdue = StrictBooleanFilter(method="filter_overdue", label="Open and past due")
    currency = filters.CharFilter(lookup_expr="iexact")
    source = filters.CharFilter()
    issued_after = filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    issued_before = filters.DateFilter(field_name="issue_date", lookup_expr="lte")
    due_after = filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lte")
    # Bounded: "today minus N days" must stay a real date (a century is plenty of overdue).
    days_overdue_min = filters.NumberFilter(
        method="filter_days_overdue_min", min_value=0, max_value=36500
    )
    days_overdue_max = filters.NumberFilter(
        method="filter_days_overdue_max", min_value=0, max_value=36500
    )
    amount_min = filters.NumberFilter(field_name="total", lookup_expr="gte")
    amount_max = filters.NumberFilter(field_name="total", lookup_expr="lte")
    balance_min = filters.NumberFilter(field_name="balance", lookup_expr="gte")
    balance_max = filters.NumberFilter(field_name="balance", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(po_number__icontains=value)
            | _customer_name_matches(self.request, value)
        )

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(status__in=OPEN_STATUSES, due_date__lt=_today(self.request))
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_days_overdue_min(self, queryset: QuerySet, name: str, value) -> QuerySet:
        cutoff = _today(self.request) - dt.timedelta(days=int(value))
        return queryset.filter(status__in=OPEN_STATUSES, due_date__lte=cutoff)

    def filter_days_overdue_max(self, queryset: QuerySet, name: str, value) -> QuerySet:
        cutoff = _today(self.request) - dt.timedelta(days=int(value))
        return queryset.filter(due_date__gte=cutoff)


class CustomerFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label="Search name or e-mail")
    country = filters.CharFilter(lookup_expr="iexact")
    industry = filters.CharFilter(lookup_expr="iexact")
    currency = filters.CharFilter(lookup_expr="iexact")
    do_not_remind = StrictBooleanFilter()
    risk_level = filters.CharFilter()

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class PaymentFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label="Search reference or customer")
    status = filters.MultipleChoiceFilter(choices=PaymentStatus.choices, distinct=False)
    method = filters.MultipleChoiceFilter(choices=PaymentMethod.choices, distinct=False)
    customer = filters.UUIDFilter(field_name="customer__code")
    currency = filters.CharFilter(lookup_expr="iexact")
    received_after = filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lte")
    amount_min = filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = filters.NumberFilter(field_name="amount", lookup_expr="lte")
    failure_code = filters.CharFilter()
    reconciliation_status = filters.MultipleChoiceFilter(
        choices=ReconciliationStatus.choices, distinct=False
    )
    settlement = filters.UUIDFilter(field_name="settlement_batch__code")

    class Meta:
        model = Payment
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value) | _customer_name_matches(self.request, value)
        )


class SettlementFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label="Search reference or processor")
    status = filters.MultipleChoiceFilter(choices=SettlementStatus.choices, distinct=False)
    kind = filters.MultipleChoiceFilter(choices=SettlementKind.choices, distinct=False)
    source = filters.MultipleChoiceFilter(choices=SettlementSource.choices, distinct=False)
    processor = filters.CharFilter(lookup_expr="iexact")
    currency = filters.CharFilter(lookup_expr="iexact")
    expected_after = filters.DateFilter(field_name="expected_settle_date", lookup_expr="gte")
    expected_before = filters.DateFilter(field_name="expected_settle_date", lookup_expr="lte")
    settled_after = filters.IsoDateTimeFilter(field_name="settled_at", lookup_expr="gte")
    settled_before = filters.IsoDateTimeFilter(field_name="settled_at", lookup_expr="lte")

    class Meta:
        model = SettlementBatch
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__icontains=value) | Q(processor__icontains=value))


# Consumer apps add filters (predictions: risk_level) through page slots; the worklist, the
# CSV export and the API all read the same class, so they accept the same parameters.
slots.extend_filterset(InvoiceFilter, slots.INVOICE_FILTERS)
slots.extend_filterset(PaymentFilter, slots.PAYMENT_FILTERS)


# Up to this many matching customers go into the ledger query as literal ids.
CUSTOMER_IDS_INLINE = 2000


def _customer_name_matches(request, value: str) -> Q:
    """Rows whose customer's name contains ``value``, as a condition an index can serve.

    A join to the customer table inside the OR rules every index out (a walk of the whole
    organization). The matching customers are looked up first (trigram index on the name) and
    handed over as ``customer_id IN (ids)``: the planner then knows how few rows that arm
    brings and ORs index bitmaps (trigram indexes on number and PO number, the customer
    index) instead of walking the due-date index through a million rows. Beyond
    CUSTOMER_IDS_INLINE matches it stays a subquery, as ``= ANY(ARRAY(SELECT ...))``, which
    is still an index condition; with that many matches any ordered walk finds a page soon.
    """
    customers = Customer.objects.filter(name__icontains=value)
    organization = getattr(request, "organization", None)
    if organization is not None:
        customers = customers.filter(organization=organization)
    ids = list(customers.order_by().values_list("id", flat=True)[: CUSTOMER_IDS_INLINE + 1])
    if len(ids) <= CUSTOMER_IDS_INLINE:
        return Q(customer_id__in=ids)
    return Q(_equals_any("customer_id", customers.order_by().values("id")))


def _equals_any(column: str, subquery: QuerySet) -> Func:
    """``column = ANY(ARRAY(subquery))``: an index condition, unlike ``IN (subquery)`` in an OR."""
    return Func(
        F(column),
        ArraySubquery(subquery),
        template="%(expressions)s)",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )


def _today(request) -> dt.date:
    """'Today' in the organization's time zone: overdue means overdue where the AR team sits."""
    organization = getattr(request, "organization", None)
    if organization:
        return organization_today(organization=organization)
    return timezone.localdate()
