"""Payments: the list (failed ones with their failure reason) and one payment's page."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from invoices import selectors
from invoices.filters import PaymentFilter
from invoices.models import PaymentMethod, PaymentStatus
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

PAYMENT_SORTS: dict[str, tuple[str, ...]] = {
    "received_at": ("received_at",),
    "customer": ("customer__name",),
    "amount": ("amount",),
    "status": ("status",),
    "method": ("method",),
}


@require_GET
@require_org_permission("read:invoices")
def payment_list(request: DashboardRequest) -> HttpResponse:
    filterset = PaymentFilter(
        request.GET,
        queryset=slots.prepare_queryset(
            slots.PAYMENT_COLUMNS, selectors.payment_list(organization=request.organization)
        ),
        request=request,
    )
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    queryset, sort, sort_links = sort_queryset(
        queryset,
        request.GET.get("sort"),
        columns={**PAYMENT_SORTS, **slots.column_sorts(slots.PAYMENT_COLUMNS)},
        default="-received_at",
    )
    page = paginate(request, queryset, capped=True)
    params = request.GET.copy()
    for key in ("page", "per_page", "sort"):
        params.pop(key, None)
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "pager": pagination(request, page),
        "sort": sort,
        "sort_links": sort_links,
        "page_sizes": PAGE_SIZES,
        "status_choices": PaymentStatus.choices,
        "method_choices": PaymentMethod.choices,
        "selected_statuses": request.GET.getlist("status"),
        "selected_methods": request.GET.getlist("method"),
        "filter_query": params.urlencode(),
        "slot_columns": slots.items(slots.PAYMENT_COLUMNS, permissions=request.org_permissions),
        "slot_filters": slots.items(slots.PAYMENT_FILTERS),
    }
    return render_page_or_partial(request, "invoices/payment_list.html", "payment-table", context)


@require_GET
@require_org_permission("read:invoices")
def payment_detail(request: DashboardRequest, code) -> HttpResponse:
    payment = selectors.payment_get(organization=request.organization, code=code)
    return render(request, "invoices/payment_detail.html", {"payment": payment})
