"""CSV export of any filtered list of invoices, customers or payments, streamed.

The rows come from ``values_list(...).iterator(chunk_size=...)`` (a server-side cursor, plain
tuples, no model instances), are written a chunk at a time, and leave as a
StreamingHttpResponse: memory stays flat however many rows match.

Filtering uses the shared FilterSets, so an export URL takes the same query string as the
worklist and the API; ``code`` (repeatable) narrows it to selected rows. Column names are the
import's field names, so an export is a valid import file with no mapping.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.postgres.aggregates import StringAgg
from django.core.handlers.asgi import ASGIRequest
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.http import QueryDict, StreamingHttpResponse
from django.utils import timezone
from django_filters import FilterSet

from invoices import selectors
from invoices.filters import CustomerFilter, InvoiceFilter, PaymentFilter
from invoices.models import PaymentAllocation
from paypredict_project.csv_output import csv_writer
from paypredict_project.tenancy.models import Organization

CHUNK_SIZE = 2000


def _public_id(prefix: str = "") -> Coalesce:
    """The external id when there is one, else our UUID: stable across exports, so an
    exported file re-imported (here or into another organization) keys rows the same way."""
    return Coalesce(
        NullIf(F(f"{prefix}external_id"), Value("")),
        Cast(F(f"{prefix}code"), output_field=CharField()),
        output_field=CharField(),
    )


def _allocations() -> Subquery:
    """A payment's allocations as ``invoice=amount;invoice=amount`` (invoice by public id)."""
    rows = (
        PaymentAllocation.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(
            text=StringAgg(
                Concat(
                    _public_id("invoice__"),
                    Value("="),
                    Cast(F("amount"), output_field=CharField()),
                    output_field=CharField(),
                ),
                delimiter=";",
                order_by="id",
            )
        )
        .values("text")
    )
    return Subquery(rows, output_field=CharField())


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    filterset: type[FilterSet]
    queryset: Callable[..., QuerySet]
    columns: tuple[tuple[str, Any], ...]


EXPORTS: dict[str, ExportSpec] = {
    "invoices": ExportSpec(
        kind="invoices",
        filterset=InvoiceFilter,
        queryset=selectors.invoice_list,
        columns=(
            ("external_id", _public_id()),
            ("number", "number"),
            ("customer", _public_id("customer__")),
            ("customer_name", "customer__name"),
            ("issue_date", "issue_date"),
            ("due_date", "due_date"),
            ("currency", "currency"),
            ("total", "total"),
            ("tax_total", "tax_total"),
            ("balance", "balance"),
            ("status", "status"),
            ("disputed", "disputed"),
            ("po_number", "po_number"),
            ("payment_terms_days", "payment_terms_days"),
            ("paid_date", "paid_date"),
            ("source", "source"),
            ("id", "code"),
            # The current prediction (reverse relation of predictions.Prediction; empty when
            # not scored). Not import fields: an import ignores them.
            ("risk_level", "prediction__risk_level"),
            ("p_late", "prediction__p_late"),
            ("p_at_risk", "prediction__risk_probability"),
            ("money_at_risk", "prediction__money_at_risk"),
            ("expected_date", "prediction__expected_date"),
        ),
    ),
    "customers": ExportSpec(
        kind="customers",
        filterset=CustomerFilter,
        queryset=selectors.customer_list,
        columns=(
            ("external_id", _public_id()),
            ("name", "name"),
            ("email", "email"),
            ("phone", "phone"),
            ("currency", "currency"),
            ("payment_terms_days", "payment_terms_days"),
            ("credit_limit", "credit_limit"),
            ("credit_score", "credit_score"),
            ("industry", "industry"),
            ("country", "country"),
            ("reminder_channel", "reminder_channel"),
            ("reminder_contact", "reminder_contact"),
            ("reminder_language", "reminder_language"),
            ("do_not_remind", "do_not_remind"),
            ("notes", "notes"),
            ("risk_score", "risk_score"),
            ("risk_level", "risk_level"),
            ("source", "source"),
            ("id", "code"),
        ),
    ),
    "payments": ExportSpec(
        kind="payments",
        filterset=PaymentFilter,
        queryset=selectors.payment_list,
        columns=(
            ("external_id", _public_id()),
            ("customer", _public_id("customer__")),
            ("customer_name", "customer__name"),
            ("amount", "amount"),
            ("currency", "currency"),
            ("received_at", "received_at"),
            ("method", "method"),
            ("status", "status"),
            ("failure_code", "failure_code"),
            ("failure_reason", "failure_reason"),
            ("processor", "processor"),
            ("reference", "reference"),
            ("allocations", "__allocations__"),
            ("source", "source"),
            ("id", "code"),
        ),
    ),
}


class ExportError(ValueError):
    pass


def export_queryset(
    *, kind: str, organization: Organization, params: QueryDict, request=None
) -> QuerySet:
    """The scoped, filtered (and optionally code-selected) rows of one export, as tuples."""
    spec = EXPORTS[kind]
    base = spec.queryset(organization=organization)
    filterset = spec.filterset(params, queryset=base, request=request)
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {', '.join(errors)}" for name, errors in filterset.errors.items()
        )
        raise ExportError(f"invalid filter: {problems}")
    queryset = filterset.qs
    codes = params.getlist("code")
    if codes:
        try:
            selected = [uuid.UUID(code) for code in codes]
        except ValueError as exc:
            raise ExportError(f"code must be ids (UUIDs) of {kind}, got {codes!r}") from exc
        queryset = queryset.filter(code__in=selected)
    names = []
    annotations: dict[str, Any] = {}
    for position, (_, source) in enumerate(spec.columns):
        if source == "__allocations__":
            annotations[f"col{position}"] = _allocations()
            names.append(f"col{position}")
        elif isinstance(source, str):
            names.append(source)
        else:
            annotations[f"col{position}"] = source
            names.append(f"col{position}")
    # The related objects select_related pulled in are not needed: values_list joins them.
    queryset = queryset.select_related(None).prefetch_related(None)
    if annotations:
        queryset = queryset.annotate(**annotations)
    return queryset.order_by("pk").values_list(*names)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(kind: str, rows: QuerySet, *, bom: bool = False) -> Iterator[bytes]:
    writer = csv_writer(_Echo())
    header = writer.writerow([name for name, _ in EXPORTS[kind].columns])
    yield (("\ufeff" if bom else "") + header).encode("utf-8")
    chunk: list[str] = []
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        chunk.append(writer.writerow(row))
        if len(chunk) >= CHUNK_SIZE:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def export_response(
    *, kind: str, organization: Organization, params: QueryDict, request=None
) -> StreamingHttpResponse:
    """Raises ExportError (a 400 for the caller) on invalid filters or codes."""
    rows = export_queryset(kind=kind, organization=organization, params=params, request=request)
    bom = params.get("bom") in ("1", "true")
    lines = csv_lines(kind, rows, bom=bom)
    response = StreamingHttpResponse(
        _async_chunks(lines) if _served_by_asgi(request) else lines,
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().astimezone(organization.tzinfo).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="{kind}-{organization.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


def _served_by_asgi(request) -> bool:
    return isinstance(getattr(request, "_request", request), ASGIRequest)


async def _async_chunks(lines: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The same chunks for an ASGI server, without Django's "StreamingHttpResponse must
    consume synchronous iterators" warning. Each step runs in the thread that owns the
    database connection (thread_sensitive), so the server-side cursor stays valid."""
    step = sync_to_async(next, thread_sensitive=True)
    while (chunk := await step(lines, None)) is not None:
        yield chunk


__all__ = ["EXPORTS", "ExportError", "export_queryset", "export_response"]
