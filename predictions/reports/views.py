"""Report pages and CSV downloads: thin function views over the report catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from invoices.payment_analytics import WEEKDAYS
from paypredict_project.tenancy.decorators import require_org_permission
from paypredict_project.tenancy.selectors import get_scoped_or_404
from predictions.reports.catalog import REPORTS, Report
from predictions.reports.exports import csv_response
from predictions.reports.models import Frequency, ReportSchedule
from predictions.reports.schedules import (
    report_run_list,
    report_schedule_create,
    report_schedule_list,
)

PAGE_ROWS = 200


def _report_for(request, slug: str) -> Report:
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("no such report")
    if report.permission not in request.org_permissions:
        raise PermissionDenied(f"missing permission {report.permission}")
    return report


@require_GET
@require_org_permission("read:invoices")
def report_index(request) -> HttpResponse:
    reports = [r for r in REPORTS.values() if r.permission in request.org_permissions]
    return render(request, "predictions/report_index.html", {"reports": reports})


@require_GET
@require_org_permission("read:invoices")
def report_page(request, slug: str) -> HttpResponse:
    report = _report_for(request, slug)
    resolved, errors = report.parse(request.organization, request.GET)
    context = {"report": report, "errors": errors, "params": resolved or {}, "query": request.GET}
    if errors:
        return render(request, "predictions/report.html", context, status=400)
    result = report.run(organization=request.organization, **resolved)
    context["result"] = result
    if report.listing:
        context["total"] = result.count()
        context["rows"] = list(result[:PAGE_ROWS])
        context["truncated"] = context["total"] > PAGE_ROWS
    return render(request, "predictions/report.html", context)


@require_GET
@require_org_permission("read:invoices")
def report_csv(request, slug: str) -> HttpResponse:
    report = _report_for(request, slug)
    resolved, errors = report.parse(request.organization, request.GET)
    if errors:
        problems = "; ".join(
            f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items()
        )
        return HttpResponse(
            f"invalid parameters: {problems}\n", status=400, content_type="text/plain"
        )
    result = report.run(organization=request.organization, **resolved)
    return csv_response(
        name=report.slug,
        organization=request.organization,
        header=report.columns,
        rows=report.rows(result),
    )


# ---------------------------------------------------------------- scheduled e-mails


class ScheduleForm(forms.Form):
    report = forms.ChoiceField(choices=[(slug, r.title) for slug, r in REPORTS.items()])
    frequency = forms.ChoiceField(choices=Frequency.choices)
    weekday = forms.TypedChoiceField(
        choices=[("", "(weekly only)")] + [(i, day) for i, day in enumerate(WEEKDAYS)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="weekly reports only",
    )
    hour = forms.TypedChoiceField(choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int)
    threshold = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="high-risk report only"
    )
    recipients = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = (
            get_user_model()
            .objects.filter(memberships__organization=organization)
            .order_by("email")
        )
        self.fields["recipients"].label_from_instance = lambda user: user.email or user.username


@require_http_methods(["GET", "POST"])
@require_org_permission("admin")
def report_schedule_page(request) -> HttpResponse:
    organization = request.organization
    form = ScheduleForm(request.POST or None, organization=organization)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            params = {"threshold": data["threshold"]} if data["threshold"] is not None else {}
            try:
                report_schedule_create(
                    organization=organization,
                    report=data["report"],
                    frequency=data["frequency"],
                    hour=data["hour"],
                    weekday=data["weekday"],
                    recipients=list(data["recipients"]),
                    params=params if data["report"] == "high-risk" else {},
                    created_by=request.user,
                )
            except ValidationError as exc:
                for field, messages_ in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages_)
            else:
                messages.success(request, "Report scheduled.")
                return redirect("report-schedules")
        status = 400
    context = {
        "form": form,
        "schedules": report_schedule_list(organization=organization),
        "runs": report_run_list(organization=organization),
        "reports": REPORTS,
    }
    return render(request, "predictions/report_schedules.html", context, status=status)


@require_POST
@require_org_permission("admin")
def report_schedule_delete(request, code) -> HttpResponse:
    schedule = get_scoped_or_404(
        ReportSchedule.objects.all(), organization=request.organization, code=code
    )
    schedule.delete()
    messages.success(request, "Schedule deleted.")
    return redirect("report-schedules")
