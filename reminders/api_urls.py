"""Reminders API routes, mounted under /api/v1/ in the "api" namespace."""

from __future__ import annotations

from django.urls import path

from reminders import apis

urlpatterns = [
    path("reminders", apis.ReminderListApi.as_view(), name="reminder-list"),
    path("reminders/<uuid:id>", apis.ReminderDetailApi.as_view(), name="reminder-detail"),
    path("reminders/<uuid:id>/approve", apis.ReminderApproveApi.as_view(), name="reminder-approve"),
    path("reminders/<uuid:id>/reject", apis.ReminderRejectApi.as_view(), name="reminder-reject"),
    path("reminders/<uuid:id>/send", apis.ReminderSendApi.as_view(), name="reminder-send"),
    path("promises", apis.PromiseCollectionApi.as_view(), name="promise-list"),
]
