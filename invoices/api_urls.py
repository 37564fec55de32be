"""Ledger API routes, mounted under /api/v1/ in the "api" namespace.

Declared without trailing slashes (/api/v1/invoices); ApiTrailingSlashMiddleware serves
/api/v1/invoices/ by the same route, for every method. The ``id`` in every
URL is the object's public UUID (``code`` in the database), never a database key.
"""

from __future__ import annotations

from django.urls import path

from invoices.apis.customers import CustomerCollectionApi, CustomerResourceApi
from invoices.apis.invoices import (
    InvoiceCollectionApi,
    InvoiceResourceApi,
    InvoiceVoidApi,
    InvoiceWriteOffApi,
)
from invoices.apis.payment_analytics import PaymentAnalyticsApi
from invoices.apis.payments import (
    PaymentAllocateApi,
    PaymentCollectionApi,
    PaymentDetailApi,
    PaymentFailApi,
    PaymentRefundApi,
    PaymentSucceedApi,
)
from invoices.apis.settlements import SettlementCollectionApi, SettlementDetailApi

urlpatterns = [
    path("payments/analytics", PaymentAnalyticsApi.as_view(), name="payment-analytics"),
    path("customers", CustomerCollectionApi.as_view(), name="customer-list"),
    path("customers/<uuid:id>", CustomerResourceApi.as_view(), name="customer-detail"),
    path("invoices", InvoiceCollectionApi.as_view(), name="invoice-list"),
    path("invoices/<uuid:id>", InvoiceResourceApi.as_view(), name="invoice-detail"),
    path("invoices/<uuid:id>/void", InvoiceVoidApi.as_view(), name="invoice-void"),
    path("invoices/<uuid:id>/write-off", InvoiceWriteOffApi.as_view(), name="invoice-write-off"),
    path("payments", PaymentCollectionApi.as_view(), name="payment-list"),
    path("payments/<uuid:id>", PaymentDetailApi.as_view(), name="payment-detail"),
    path(
        "payments/<uuid:id>/allocations",
        PaymentAllocateApi.as_view(),
        name="payment-allocations",
    ),
    path("payments/<uuid:id>/fail", PaymentFailApi.as_view(), name="payment-fail"),
    path("payments/<uuid:id>/refund", PaymentRefundApi.as_view(), name="payment-refund"),
    path("payments/<uuid:id>/succeed", PaymentSucceedApi.as_view(), name="payment-succeed"),
    path("settlements", SettlementCollectionApi.as_view(), name="settlement-list"),
    path("settlements/<uuid:id>", SettlementDetailApi.as_view(), name="settlement-detail"),
]
