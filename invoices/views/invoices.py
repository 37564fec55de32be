"""Invoice worklist and invoice detail, with the collector's actions (void, write off, dispute)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from invoices import selectors, services
from invoices.analytics import organization_today
from invoices.filters import InvoiceFilter
from invoices.models import CLOSED_STATUSES, OPEN_STATUSES, InvoiceStatus
from invoices.views.common import (
    PAGE_SIZES,
    DashboardRequest,
    paginate,
    pagination,
    render_page_or_partial,
    sort_queryset,
)
from paypredict_project import slots
from paypredict_project.tenancy.decorators import require_org_permission

# Sortable worklist columns → the fields they order by (a whitelist: the query string never
# reaches order_by unchecked).
INVOICE_SORTS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "customer": ("customer__name",),
    "issue_date": ("issue_date",),
    "due_date": ("due_date",),
    "total": ("total",),
    "balance": ("balance",),
    "status": ("status",),
}
DEFAULT_INVOICE_SORT = "due_date"
# Filter parameters the worklist form shows (plus those consumer apps register in the
# invoice_list.filters slot); export links reuse the same query string.
FILTER_PARAMS = (
    "q",
    "status",
    "customer",
    "disputed",
    "overdue",
    "due_after",
    "due_before",
    "days_overdue_min",
    "days_overdue_max",
    "amount_min",
    "amount_max",
    "currency",
)


def _filter_query(request: DashboardRequest) -> str:
    """The active filters as a query string (for "export all matching")."""
    params = request.GET.copy()
    allowed = {*FILTER_PARAMS, *(item.name for item in slots.items(slots.INVOICE_FILTERS))}
    for key in list(params):
        if key not in allowed:
            del params[key]
    return params.urlencode()


# The bare worklist URL opens on what needs work: open and partially paid invoices, in the
# order a worklist column proposes (predictions: most expected money at risk first), else
# oldest due first. A redirect (rather than a hidden default) keeps every URL explicit, so a
# shared link, the export and the API read the same filters.
DEFAULT_WORKLIST_FILTERS = "status=open&status=partially_paid"


def _default_worklist_query() -> str:
    sort = slots.default_sort(slots.INVOICE_COLUMNS) or DEFAULT_INVOICE_SORT
    return f"{DEFAULT_WORKLIST_FILTERS}&sort={sort}"


@require_GET
@require_org_permission("read:invoices")
def invoice_list(request: DashboardRequest) -> HttpResponse:
    if not request.GET:
        return redirect(f"{reverse('invoice-list')}?{_default_worklist_query()}")
    columns = slots.items(slots.INVOICE_COLUMNS, permissions=request.org_permissions)
    filterset = InvoiceFilter(
        request.GET,
        # Slot columns join their data here (no query per row).
        queryset=slots.prepare_queryset(
            slots.INVOICE_COLUMNS, selectors.invoice_list(organization=request.organization)
        ),
        request=request,
    )
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    queryset, sort, sort_links = sort_queryset(
        queryset,
        request.GET.get("sort"),
        columns={**INVOICE_SORTS, **slots.column_sorts(slots.INVOICE_COLUMNS)},
        default=DEFAULT_INVOICE_SORT,
    )
    page = paginate(request, queryset, capped=True)
    filter_customer = None
    if filterset.is_valid() and filterset.form.cleaned_data.get("customer"):
        filter_customer = (
            selectors.customer_list(organization=request.organization)
            .filter(code=filterset.form.cleaned_data["customer"])
            .first()
        )
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "pager": pagination(request, page),
        "today": organization_today(organization=request.organization),
        "can_write": "write:invoices" in request.org_permissions,
        "sort": sort,
        "sort_links": sort_links,
        "page_sizes": PAGE_SIZES,
        "status_choices": InvoiceStatus.choices,
        "selected_statuses": request.GET.getlist("status"),
        "slot_columns": columns,
        "slot_filters": slots.items(slots.INVOICE_FILTERS),
        "filter_query": _filter_query(request),
        "filter_customer": filter_customer,
    }
    return render_page_or_partial(request, "invoices/list.html", "invoice-table", context)


def _audit_rows(entries) -> list[dict]:
    """Audit entries with their changed fields paired up (before → after) for display."""
    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        changes = (
            [{"field": key, "before": before.get(key), "after": after[key]} for key in after]
            if before
            else []
        )
        rows.append({"entry": entry, "changes": changes})
    return rows


def _detail_context(request: DashboardRequest, invoice) -> dict:
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "allocations": selectors.invoice_allocations(invoice=invoice),
        "history": _audit_rows(
            selectors.audit_history(
                organization=request.organization, object_type="invoice", object_code=invoice.code
            )
        ),
        "can_write": "write:invoices" in request.org_permissions,
        "can_close": invoice.status not in (InvoiceStatus.PAID, *CLOSED_STATUSES),
        "is_open": invoice.status in OPEN_STATUSES,
    }


@require_GET
@require_org_permission("read:invoices")
def invoice_detail(request: DashboardRequest, code) -> HttpResponse:
    invoice = selectors.invoice_get(organization=request.organization, code=code)
    return render(request, "invoices/detail.html", _detail_context(request, invoice))


# Closing actions: URL action → (service, button text, past tense for the message).
CLOSING_ACTIONS = {
    "void": (services.invoice_void, "Void invoice", "voided"),
    "write-off": (services.invoice_write_off, "Write off invoice", "written off"),
}


def _invoice_close(request: DashboardRequest, code, action: str) -> HttpResponse:
    """GET asks for confirmation (works without JS); POST performs the change."""
    service, button, done = CLOSING_ACTIONS[action]
    invoice = selectors.invoice_get(organization=request.organization, code=code)
    context = {"invoice": invoice, "action": action, "button": button, "errors": []}
    if request.method == "POST":
        try:
            service(invoice=invoice)
        except ValidationError as exc:
            context["errors"] = exc.messages
            return render(request, "invoices/confirm.html", context, status=400)
        messages.success(request, f"Invoice {invoice.number} {done}.")
        return redirect("invoice-detail", code=invoice.code)
    return render(request, "invoices/confirm.html", context)


@require_http_methods(["GET", "POST"])
@require_org_permission("write:invoices")
def invoice_void(request: DashboardRequest, code) -> HttpResponse:
    return _invoice_close(request, code, "void")


@require_http_methods(["GET", "POST"])
@require_org_permission("write:invoices")
def invoice_write_off(request: DashboardRequest, code) -> HttpResponse:
    return _invoice_close(request, code, "write-off")
