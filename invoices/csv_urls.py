"""Dashboard routes for CSV import and export (mounted at "/")."""

from __future__ import annotations

from django.urls import path

from invoices import csv_views

urlpatterns = [
    path("imports/", csv_views.csv_import_upload, name="csv-import"),
    path("imports/<uuid:code>/", csv_views.csv_import_preview, name="csv-import-preview"),
    path("imports/<uuid:code>/result/", csv_views.csv_import_result, name="csv-import-result"),
    path("invoices/export.csv", csv_views.invoice_export, name="invoice-export"),
    path("customers/export.csv", csv_views.customer_export, name="customer-export"),
    path("payments/export.csv", csv_views.payment_export, name="payment-export"),
]
