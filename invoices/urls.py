from __future__ import annotations

from django.urls import path

from invoices import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("invoices/<uuid:code>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<uuid:code>/void/", views.invoice_void, name="invoice-void"),
    path("invoices/<uuid:code>/write-off/", views.invoice_write_off, name="invoice-write-off"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<uuid:code>/", views.customer_detail, name="customer-detail"),
    path(
        "customers/<uuid:code>/preferences/",
        views.customer_preferences,
        name="customer-preferences",
    ),
    path("payments/", views.payment_list, name="payment-list"),
    path("payments/<uuid:code>/", views.payment_detail, name="payment-detail"),
    path("analytics/payments/", views.payment_analytics_page, name="payment-analytics"),
]
