from __future__ import annotations

from django.urls import path

from disputes import views
from disputes.inbound import inbound_view

urlpatterns = [
    # Customers' e-mails (Mailgun route forward(); anymail checks the signature).
    path("anymail/mailgun/inbound/", inbound_view(), name="anymail-mailgun-inbound"),
    path("disputes/", views.dispute_queue, name="dispute-queue"),
    path("disputes/assign/", views.dispute_bulk_assign, name="dispute-bulk-assign"),
    path("disputes/<uuid:code>/", views.dispute_detail, name="dispute-detail"),
    path(
        "disputes/<uuid:code>/<slug:action>/",
        views.dispute_action,
        name="dispute-action",
    ),
    path(
        "invoices/<uuid:code>/disputes/open/",
        views.invoice_dispute_open,
        name="invoice-dispute-open",
    ),
]
