"""CSV export API routes, mounted under /api/v1/ (namespace "api")."""

from __future__ import annotations

from django.urls import path

from invoices.csv_apis import CustomerExportApi, InvoiceExportApi, PaymentExportApi

urlpatterns = [
    path("invoices/export", InvoiceExportApi.as_view(), name="invoice-export"),
    path("customers/export", CustomerExportApi.as_view(), name="customer-export"),
    path("payments/export", PaymentExportApi.as_view(), name="payment-export"),
]
