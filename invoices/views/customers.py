"""Customer list and profile, with the reminder-preferences form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from invoices import selectors, services
from invoices.analytics import organization_today
from invoices.charts import days_late_chart
from invoices.filters import CustomerFilter
from invoices.forms import CustomerPreferencesForm
from invoices.views.common import (
    PAGE_SIZES,
    DashboardRequest,
    paginate,
    pagination,
    render_page_or_partial,
    render_varying,
    sort_queryset,
    wants_partial,
)
from paypredict_project.tenancy.decorators import require_org_permission

CUSTOMER_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "country": ("country",),
    "terms": ("payment_terms_days",),
    "credit_limit": ("credit_limit",),
}
HISTORY_PAGE_SIZE = 10
# Element ids on the profile that page on their own; each is also the partial's name.
HISTORY_PARTIALS = ("customer-invoices", "customer-payments")


@require_GET
@require_org_permission("read:invoices")
def customer_list(request: DashboardRequest) -> HttpResponse:
    filterset = CustomerFilter(
        request.GET,
        queryset=selectors.customer_list(organization=request.organization),
        request=request,
    )
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    queryset, sort, sort_links = sort_queryset(
        queryset, request.GET.get("sort"), columns=CUSTOMER_SORTS, default="name"
    )
    page = paginate(request, queryset)
    balances = selectors.customer_balances(
        organization=request.organization,
        customer_ids=[customer.id for customer in page.object_list],
        today=organization_today(organization=request.organization),
    )
    rows = [(customer, balances.get(customer.id, [])) for customer in page.object_list]
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "rows": rows,
        "pager": pagination(request, page),
        "sort": sort,
        "sort_links": sort_links,
        "page_sizes": PAGE_SIZES,
    }
    return render_page_or_partial(request, "invoices/customer_list.html", "customer-table", context)


def _profile_context(request: DashboardRequest, customer, form=None) -> dict:
    organization = request.organization
    today = organization_today(organization=organization)
    invoices = paginate(
        request,
        selectors.customer_invoices(organization=organization, customer=customer).order_by(
            "-issue_date", "-id"
        ),
        param="invoices_page",
        size=HISTORY_PAGE_SIZE,
    )
    payments = paginate(
        request,
        selectors.customer_payments(organization=organization, customer=customer),
        param="payments_page",
        size=HISTORY_PAGE_SIZE,
    )
    days_late = selectors.customer_days_late(organization=organization, customer=customer)
    return {
        "customer": customer,
        "days_late": days_late,
        "days_late_chart": days_late_chart(days_late) if len(days_late) > 1 else None,
        "balances": selectors.customer_balances(
            organization=organization, customer_ids=[customer.id], today=today
        ).get(customer.id, []),
        "invoices": invoices,
        "invoices_pager": pagination(request, invoices, param="invoices_page"),
        "payments": payments,
        "payments_pager": pagination(request, payments, param="payments_page"),
        "can_write": "write:invoices" in request.org_permissions,
        "form": form or CustomerPreferencesForm(customer=customer),
        "today": today,
    }


@require_GET
@require_org_permission("read:invoices")
def customer_detail(request: DashboardRequest, code) -> HttpResponse:
    customer = selectors.customer_get(organization=request.organization, code=code)
    context = _profile_context(request, customer)
    # The invoice and payment history tables page on their own (HTMX swaps one of them).
    template = "invoices/customer_detail.html"
    target = request.htmx.target if wants_partial(request) else None
    if target in HISTORY_PARTIALS:
        template = f"{template}#{target}"
    return render_varying(request, template, context)


@require_POST
@require_org_permission("write:invoices")
def customer_preferences(request: DashboardRequest, code) -> HttpResponse:
    customer = selectors.customer_get(organization=request.organization, code=code)
    form = CustomerPreferencesForm(request.POST, customer=customer)
    saved = False
    if form.is_valid():
        try:
            customer = services.customer_update(customer=customer, **form.cleaned_data)
            saved = True
        except ValidationError as exc:
            # The model's own validation (e.g. a field length) names the field it rejects.
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target, error)
    if wants_partial(request):
        context = {
            "customer": customer,
            "form": CustomerPreferencesForm(customer=customer) if saved else form,
            "saved": saved,
            "can_write": True,
        }
        return render_page_or_partial(
            request, "invoices/customer_detail.html", "customer-preferences", context
        )
    if saved:
        messages.success(request, f"Preferences of {customer.name} saved.")
        return redirect("customer-detail", code=customer.code)
    customer.refresh_from_db()
    return render_varying(
        request,
        "invoices/customer_detail.html",
        _profile_context(request, customer, form=form),
        status=400,
    )
