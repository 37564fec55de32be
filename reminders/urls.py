from __future__ import annotations

from django.urls import path

from reminders import views
from reminders.webhooks import TRACKING_REQUIREMENTS, tracking_view

urlpatterns = [
    path("reminders/", views.reminder_queue, name="reminder-queue"),
    path("reminders/approve/", views.reminders_bulk_approve, name="reminder-bulk-approve"),
    path("reminders/report/", views.reminder_report, name="reminder-report"),
    path("reminders/promises/", views.promise_create, name="promise-create"),
    path("reminders/promises/<uuid:code>/cancel/", views.promise_cancel, name="promise-cancel"),
    path("reminders/<uuid:code>/", views.reminder_detail, name="reminder-detail"),
    path("reminders/<uuid:code>/edit/", views.reminder_edit, name="reminder-edit"),
    path("reminders/<uuid:code>/approve/", views.reminder_approve, name="reminder-approve"),
    path("reminders/<uuid:code>/reject/", views.reminder_reject, name="reminder-reject"),
    path("reminders/<uuid:code>/send/", views.reminder_send_now, name="reminder-send"),
    path("reminders/<uuid:code>/resolve/", views.reminder_resolve, name="reminder-resolve"),
    # E-mail providers' delivery events (anymail checks signatures / basic auth).
    *(
        path(f"anymail/{esp}/tracking/", tracking_view(esp), name=f"anymail-{esp}-tracking")
        for esp in TRACKING_REQUIREMENTS
    ),
]
