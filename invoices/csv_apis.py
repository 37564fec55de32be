"""CSV export over the API: GET /api/v1/{invoices,customers,payments}/export.

Same filters (query parameters) as the list endpoints, plus ``code`` (repeatable) for selected
rows. The body is streamed text/csv; errors keep the API's JSON error body.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from invoices.exports import EXPORTS, ExportError, export_response
from paypredict_project.api import ApiAuthMixin, error_response


class CsvRenderer(BaseRenderer):
    """Lets clients ask for text/csv; the streamed body bypasses it, errors fall back to JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


def _filter_parameters(kind: str) -> list[OpenApiParameter]:
    filterset = EXPORTS[kind].filterset
    parameters = []
    for name, field in filterset.base_filters.items():
        many = field.__class__.__name__.startswith("Multiple")
        parameters.append(
            OpenApiParameter(
                name,
                OpenApiTypes.STR,
                many=many,
                explode=True if many else None,
                description=str(field.label or ""),
            )
        )
    parameters.append(
        OpenApiParameter(
            "code", OpenApiTypes.UUID, many=True, explode=True, description="export these only"
        )
    )
    parameters.append(
        OpenApiParameter("bom", OpenApiTypes.BOOL, description="start with a UTF-8 BOM (Excel)")
    )
    return parameters


def _schema(kind: str):
    columns = ", ".join(name for name, _ in EXPORTS[kind].columns)
    return extend_schema(
        operation_id=f"{kind}_export",
        tags=[kind],
        summary=f"Export {kind} as CSV",
        description=(
            f"Streams every {kind[:-1]} matching the filters as CSV (columns: {columns}). "
            "The columns are the import's field names, so the file re-imports without a mapping."
        ),
        parameters=_filter_parameters(kind),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV file"),
            400: OpenApiResponse(description="invalid filter or code"),
        },
    )


class _ExportApi(ApiAuthMixin, APIView):
    kind = ""
    required_permissions = {"read": "read:invoices"}
    renderer_classes = [JSONRenderer, CsvRenderer]

    def get(self, request):
        try:
            return export_response(
                kind=self.kind,
                organization=request.organization,
                params=request.query_params,
                request=request,
            )
        except ExportError as exc:
            return error_response(400, "invalid", str(exc))


class InvoiceExportApi(_ExportApi):
    kind = "invoices"

    @_schema("invoices")
    def get(self, request):
        return super().get(request)


class CustomerExportApi(_ExportApi):
    kind = "customers"

    @_schema("customers")
    def get(self, request):
        return super().get(request)


class PaymentExportApi(_ExportApi):
    kind = "payments"

    @_schema("payments")
    def get(self, request):
        return super().get(request)
