"""Payment analytics page (F24): the figures of invoices.payment_analytics, charts and tables."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from invoices.apis.payment_analytics import PaymentAnalyticsParams
from invoices.charts import bar_chart
from invoices.models import PaymentMethod
from invoices.payment_analytics import PERIODS, WEEKDAYS, PaymentAnalytics
from invoices.views.common import DashboardRequest
from paypredict_project.tenancy.decorators import require_org_permission


def _charts(analytics: PaymentAnalytics) -> dict:
    trend = analytics.trend
    rates = [float(f.success_rate) if f.success_rate is not None else 0.0 for f in trend]
    return {
        "trend": bar_chart(
            [float(f.attempts) for f in trend],
            [f.key[:7] if analytics.period == "month" else f.key[5:] for f in trend],
            titles=[
                f"{f.key}: {f.attempts} attempts, {f.failed} failed, success "
                f"{f.success_rate if f.success_rate is not None else 'n/a'} %"
                for f in trend
            ],
            line=rates,
            line_max=100.0,
            width=1000,
            height=220,
        ),
        "hours": bar_chart(
            [float(v) for v in analytics.by_hour],
            [f"{h:02d}" for h in range(24)],
            height=150,
        ),
        "weekdays": bar_chart(
            [float(v) for v in analytics.by_weekday],
            [day[:3] for day in WEEKDAYS],
            height=150,
        ),
    }


@require_GET
@require_org_permission("read:invoices")
def payment_analytics_page(request: DashboardRequest) -> HttpResponse:
    params = PaymentAnalyticsParams(data=request.GET)
    context: dict = {
        "query": request.GET,
        "periods": PERIODS,
        "method_choices": PaymentMethod.choices,
    }
    errors = {} if params.is_valid() else params.errors
    analytics = None
    if not errors:
        try:
            analytics = params.analytics(request.organization)
        except ValidationError as exc:
            errors = exc.detail
    if errors:
        context["errors"] = errors
        return render(request, "invoices/payment_analytics.html", context, status=400)
    context.update(
        analytics=analytics,
        charts=_charts(analytics),
        period=analytics.period,
        weekday_rows=list(zip(WEEKDAYS, analytics.by_weekday, strict=True)),
    )
    return render(request, "invoices/payment_analytics.html", context)
