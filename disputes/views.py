"""Dispute pages: the queue (filters, SLA urgency, bulk assign; HTMX partial table), the
detail page with one-click actions, and "Open dispute" posted from an invoice page.
Thin: each view calls one selector or service."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from disputes import selectors, services
from disputes.models import CATEGORY_CHOICES, DisputeStatus, ResolutionKind
from disputes.suggestions import rule_suggestion
from invoices import selectors as ledger_selectors
from invoices.views.common import paginate, pagination, render_page_or_partial, render_varying
from paypredict_project.tenancy.decorators import require_org_permission

MANAGE = "manage:disputes"


def _members(organization):
    return get_user_model().objects.filter(memberships__organization=organization).order_by("email")


@require_org_permission("read:invoices")
def dispute_queue(request) -> HttpResponse:
    organization = request.organization
    params = request.GET.copy()
    params.setdefault("status", "active")
    try:
        queryset = selectors.dispute_filter(
            selectors.dispute_list(organization=organization), params
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        queryset = selectors.dispute_list(organization=organization).none()
    page = paginate(request, selectors.dispute_order_by_urgency(queryset))
    context = {
        "page": page,
        "pager": pagination(request, page),
        "params": params,
        "categories": CATEGORY_CHOICES,
        "statuses": [("active", "Open or in review"), *DisputeStatus.choices, ("all", "Any")],
        "members": _members(organization),
        "counts": selectors.dispute_counts(organization=organization),
        "can_manage": MANAGE in request.org_permissions,
        "now": timezone.now(),
    }
    return render_page_or_partial(request, "disputes/queue.html", "dispute-table", context)


@require_POST
@require_org_permission(MANAGE)
def dispute_bulk_assign(request) -> HttpResponse:
    organization = request.organization
    codes = request.POST.getlist("code")
    disputes = [selectors.dispute_get(organization=organization, code=c) for c in codes]
    assignee_id = request.POST.get("assignee", "")
    assignee = _members(organization).filter(pk=assignee_id).first() if assignee_id else None
    if not disputes or (assignee_id and assignee is None):
        messages.error(request, "Choose disputes and a member of this organization.")
    else:
        try:
            count = services.dispute_assign(disputes=disputes, assignee=assignee, user=request.user)
            messages.success(request, f"{count} dispute{'s' if count != 1 else ''} assigned.")
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    return redirect(request.POST.get("next") or reverse("dispute-queue"))


def _detail_context(request, dispute) -> dict:
    invoice = dispute.invoice
    suggestion = dispute.suggestion or {}
    rule = rule_suggestion(dispute) if dispute.is_active else None
    return {
        "dispute": dispute,
        "invoice": invoice,
        "lines": list(invoice.lines.all()) if invoice else [],
        "allocations": ledger_selectors.invoice_allocations(invoice=invoice) if invoice else [],
        "events": list(dispute.events.select_related("actor")),
        "rule": rule,
        "rule_label": (
            ResolutionKind(rule.action).label
            if rule and rule.action in ResolutionKind.values
            else ""
        ),
        "draft": suggestion.get("draft"),
        "fallback_reason": suggestion.get("fallback_reason", ""),
        "categories": CATEGORY_CHOICES,
        "resolutions": ResolutionKind.choices,
        "members": _members(request.organization),
        "can_manage": MANAGE in request.org_permissions,
    }


@require_org_permission("read:invoices")
def dispute_detail(request, code) -> HttpResponse:
    dispute = selectors.dispute_get(organization=request.organization, code=code)
    return render_varying(request, "disputes/detail.html", _detail_context(request, dispute))


def _money(value: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValidationError({"amount": f"{value!r} is not an amount"}) from None


def _act(request, dispute, action: str):
    post = request.POST
    user = request.user
    if action == "confirm":
        return services.dispute_confirm_category(
            dispute=dispute, category=post.get("category", ""), user=user
        )
    if action == "assign":
        assignee_id = post.get("assignee", "")
        assignee = _members(request.organization).filter(pk=assignee_id).first()
        if assignee_id and assignee is None:
            raise ValidationError({"assignee": "not a member of this organization"})
        return services.dispute_assign(disputes=[dispute], assignee=assignee, user=user)
    if action == "resolve":
        payment = None
        if post.get("payment"):
            payment = ledger_selectors.payment_get(
                organization=request.organization, code=post["payment"]
            )
        return services.dispute_resolve(
            dispute=dispute,
            resolution=post.get("resolution", ""),
            amount=_money(post.get("amount", "")),
            note=post.get("note", ""),
            payment=payment,
            user=user,
        )
    if action == "reject":
        return services.dispute_reject(dispute=dispute, reason=post.get("reason", ""), user=user)
    if action == "link":
        invoice = (
            ledger_selectors.invoice_list(organization=request.organization)
            .filter(number=post.get("invoice_number", "").strip())
            .first()
        )
        if invoice is None:
            raise ValidationError({"invoice": "no invoice with that number"})
        return services.dispute_link_invoice(dispute=dispute, invoice=invoice, user=user)
    raise ValidationError({"action": f"unknown action {action!r}"})


@require_POST
@require_org_permission(MANAGE)
def dispute_action(request, code, action: str) -> HttpResponse:
    dispute = selectors.dispute_get(organization=request.organization, code=code)
    try:
        _act(request, dispute, action)
        messages.success(request, f"Dispute {action} done.")
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("dispute-detail", code=dispute.code)


@require_POST
@require_org_permission(MANAGE)
def invoice_dispute_open(request, code) -> HttpResponse:
    """'Open dispute' on an invoice page: text, amount and category (optional)."""
    invoice = ledger_selectors.invoice_get(organization=request.organization, code=code)
    try:
        dispute = services.dispute_open(
            organization=request.organization,
            invoice=invoice,
            text=request.POST.get("text", ""),
            amount=_money(request.POST.get("amount", "")),
            category=request.POST.get("category", ""),
            user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("invoice-detail", code=invoice.code)
    messages.success(request, "Dispute opened; it is being classified.")
    return redirect("dispute-detail", code=dispute.code)
