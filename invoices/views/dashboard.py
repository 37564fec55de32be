"""The home dashboard: ledger KPIs of the current organization, or what to do first."""

from __future__ import annotations

from django.core.management import get_commands
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from invoices.analytics import dashboard_summary_cached
from invoices.trends import ar_trends_cached, trend_charts
from invoices.views.common import DashboardRequest
from paypredict_project.tenancy.decorators import require_org_permission


@require_GET
@require_org_permission("read:invoices")
def dashboard(request: DashboardRequest) -> HttpResponse:
    summary = dashboard_summary_cached(organization=request.organization)
    commands = get_commands()
    context = {
        "summary": summary,
        # Month-end positions rebuilt from the ledger's history (cached like the summary).
        "trends": []
        if summary.is_empty
        else trend_charts(ar_trends_cached(organization=request.organization)),
        # The empty state names only commands that exist in this installation.
        "has_seed_demo": "seed_demo" in commands,
        "has_connect_integration": "connect_integration" in commands,
        "can_write": "write:invoices" in request.org_permissions,
    }
    return render(request, "dashboard/home.html", context)
