from __future__ import annotations

from django.urls import path

from predictions.reports import views

urlpatterns = [
    path("reports/", views.report_index, name="report-index"),
    path("reports/schedules/", views.report_schedule_page, name="report-schedules"),
    path(
        "reports/schedules/<uuid:code>/delete/",
        views.report_schedule_delete,
        name="report-schedule-delete",
    ),
    path("reports/<slug:slug>/", views.report_page, name="report-page"),
    path("reports/<slug:slug>/csv", views.report_csv, name="report-csv"),
]
