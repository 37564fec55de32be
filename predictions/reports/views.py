"""Report pages and CSV downloads: thin function views over the report catalogue."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from paypredict_project.tenancy.decorators import require_org_permission
from predictions.reports.catalog import REPORTS, Report
from predictions.reports.exports import csv_response

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
