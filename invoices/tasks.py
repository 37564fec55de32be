"""Celery adapters of the ledger: each loads its arguments and calls one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="invoices.csv_upload_import", acks_late=True)
def csv_upload_import_task(upload_id: int) -> str | None:
    from invoices.models import CsvUpload
    from invoices.services.csv_uploads import csv_upload_import

    upload = CsvUpload.objects.filter(pk=upload_id).select_related("organization").first()
    if upload is None:
        return None
    return csv_upload_import(upload=upload).status


@shared_task(name="invoices.csv_uploads_purge")
def csv_uploads_purge_task() -> int:
    from invoices.services.csv_uploads import csv_uploads_purge

    return csv_uploads_purge()


@shared_task(name="invoices.ar_trends_refresh")
def ar_trends_refresh_task(organization_id: int) -> int:
    """Recompute an organization's home-page trends after a ledger change (see trends.py)."""
    from invoices.trends import ar_trends_refresh
    from paypredict_project.tenancy.models import Organization

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    return len(ar_trends_refresh(organization=organization))


@shared_task(name="invoices.beginning_ar_refresh")
def beginning_ar_refresh_task(organization_id: int, start: str) -> int:
    """Recompute an organization's beginning AR for CEI after a ledger change (analytics.py)."""
    import datetime as dt

    from invoices.analytics import beginning_ar_refresh
    from paypredict_project.tenancy.models import Organization

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    figures = beginning_ar_refresh(organization=organization, start=dt.date.fromisoformat(start))
    return len(figures)
