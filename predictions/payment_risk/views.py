"""The review action on a payment's page (HTMX, with a plain form post beside it)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from invoices.selectors import payment_get
from invoices.views.common import DashboardRequest, wants_partial
from paypredict_project.tenancy.decorators import require_org_permission
from predictions.payment_risk import selectors
from predictions.payment_risk.page_slots import payment_risk_panel_context
from predictions.payment_risk.services import payment_risk_review


@require_POST
@require_org_permission("write:invoices")
def payment_risk_review_view(request: DashboardRequest, code) -> HttpResponse:
    payment = payment_get(organization=request.organization, code=code)
    risk = selectors.payment_risk_get(organization=request.organization, payment_code=code)
    status = 200
    try:
        payment_risk_review(risk=risk, status=request.POST.get("status", ""), user=request.user)
    except ValidationError:
        status = 400
    if not wants_partial(request):
        if status == 400:
            return HttpResponse("status must be reviewed_fine or confirmed_problem", status=400)
        return redirect("payment-detail", code=payment.code)
    context = payment_risk_panel_context(request, payment)
    return render(request, "predictions/_payment_risk_panel.html", context, status=status)
