"""Dashboard CSV import (upload → preview and mapping → result) and CSV export downloads.

The uploaded file is kept (CsvUpload, organization-scoped) between the steps, so the preview,
the mapping form and the run all read the same bytes. Importing needs write:invoices;
exporting needs read:invoices.
"""

from __future__ import annotations

import csv
import io
import json
from itertools import islice

from django import forms
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from invoices.exports import ExportError, export_response
from invoices.imports import ImportFailed
from invoices.imports.mapping import (
    FIELDS,
    KINDS,
    Mapping,
    MappingError,
    mapping_for_header,
    mapping_from_dict,
    mapping_guess,
    mapping_parse,
)
from invoices.models import CsvUpload, CsvUploadStatus
from invoices.services import csv_uploads as services
from paypredict_project.tenancy.decorators import require_org_permission
from paypredict_project.tenancy.selectors import get_scoped_or_404, scoped
from paypredict_project.uploads import SizeLimitUploadHandler, limit_uploads

PREVIEW_ROWS = 10
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# A mapping is a small JSON document (fields, formats, defaults, value tables).
MAX_MAPPING_BYTES = 256 * 1024
UPLOAD_HINT = {
    "file": "use the import_csv command for bigger files",
    "mapping_file": "a mapping is a small JSON document",
}
COMMON_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind, kind.capitalize()) for kind in KINDS])
    file = forms.FileField(help_text="CSV, UTF-8, with a header row")
    mapping_file = forms.FileField(
        required=False, help_text="optional mapping JSON (fields, date formats, defaults)"
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"the file is {upload.size // 1_000_000} MB; the dashboard takes up to "
                f"{MAX_UPLOAD_BYTES // 1_000_000} MB (use the import_csv command for more)"
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        mapping_file = cleaned.get("mapping_file")
        if mapping_file and mapping_file.size > MAX_MAPPING_BYTES:
            self.add_error("mapping_file", f"a mapping file takes up to {_size(MAX_MAPPING_BYTES)}")
        elif mapping_file and cleaned.get("kind"):
            try:
                cleaned["mapping"] = mapping_parse(kind=cleaned["kind"], source=mapping_file.read())
            except MappingError as exc:
                self.add_error("mapping_file", str(exc))
        return cleaned


def _upload_or_404(request, code) -> CsvUpload:
    return get_scoped_or_404(CsvUpload.objects.all(), organization=request.organization, code=code)


def _uploads(request):
    return scoped(CsvUpload.objects.all(), organization=request.organization)


PREVIEW_CELL_CHARS = 200


def _preview_cell(cell: str) -> str:
    # An over-long field (a row error at import) must not blow up the preview page.
    return cell if len(cell) <= PREVIEW_CELL_CHARS else cell[:PREVIEW_CELL_CHARS] + "…"


def _head(upload: CsvUpload, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    """The header and the first rows, for the preview (the file is not read further)."""
    if not upload.file:
        raise ImportFailed(
            f"the uploaded file was deleted {settings.CSV_UPLOAD_RETENTION_DAYS} days after "
            "upload (retention); upload it again"
        )
    with upload.file.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        try:
            reader = csv.reader(text, delimiter=delimiter)
            header = [column.strip() for column in next(reader, [])]
            rows = [[_preview_cell(cell) for cell in row] for row in islice(reader, PREVIEW_ROWS)]
        except UnicodeDecodeError as exc:
            raise ImportFailed("the file is not UTF-8 text; save it as UTF-8 CSV") from exc
        except csv.Error as exc:
            raise ImportFailed(f"the file cannot be read as CSV: {exc}") from exc
        finally:
            text.detach()
    return header, rows


@csrf_exempt  # checked below, after the size-limited upload handler is in place
@require_http_methods(["GET", "POST"])
@require_org_permission("write:invoices")
def csv_import_upload(request) -> HttpResponse:
    limiter = limit_uploads(request, file=MAX_UPLOAD_BYTES, mapping_file=MAX_MAPPING_BYTES)
    return _csv_import_upload(request, limiter)


@csrf_protect
def _csv_import_upload(request, limiter: SizeLimitUploadHandler) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and limiter.too_large:
        form.is_valid()
        for field, limit in limiter.too_large.items():
            # Replaces "this field is required": the file was cut off on purpose.
            message = f"the file is larger than {_size(limit)}; {UPLOAD_HINT[field]}"
            form.errors[field] = form.error_class([message])
    elif request.method == "POST" and form.is_valid():
        upload = services.csv_upload_create(
            organization=request.organization,
            user=request.user,
            kind=form.cleaned_data["kind"],
            file=form.cleaned_data["file"],
            mapping=form.cleaned_data.get("mapping"),
        )
        return redirect("csv-import-preview", code=upload.code)
    recent = _uploads(request).select_related("uploaded_by")[:10]
    status = 400 if request.method == "POST" else 200
    return render(
        request, "invoices/imports/upload.html", {"form": form, "recent": recent}, status=status
    )


def _size(limit: int) -> str:
    return f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit // 1024} KiB"


def _mapping_from_post(kind: str, post, header: list[str]) -> tuple[dict, list[str]]:
    """The mapping form's choices as a mapping document, and the problems found."""
    problems = []
    fields = {}
    date_formats = {}
    for name, spec in FIELDS[kind].items():
        column = post.get(f"field_{name}", "")
        if column:
            if column not in header:
                problems.append(f"{name}: {column!r} is not a column of the file")
            fields[name] = column
        if spec.type in ("date", "datetime"):
            chosen = post.get(f"format_{name}", "").strip()
            if chosen:
                date_formats[name] = chosen
    document: dict = {"kind": kind, "fields": fields}
    if date_formats:
        document["date_formats"] = date_formats
    return document, problems


@require_http_methods(["GET", "POST"])
@require_org_permission("write:invoices")
def csv_import_preview(request, code) -> HttpResponse:
    upload = _upload_or_404(request, code)
    saved = mapping_from_dict(upload.mapping, kind=upload.kind) if upload.mapping else None
    problems: list[str] = []
    try:
        header, rows = _head(upload, saved.delimiter if saved else ",")
    except ImportFailed as exc:
        header, rows = [], []
        problems.append(str(exc))
    if request.method == "POST" and header:
        document, problems = _mapping_from_post(upload.kind, request.POST, header)
        if saved:
            # Keep what the form does not edit (defaults, value tables, attributes...).
            document = {**saved.to_json(), **document}
        mapping = None
        if not problems:
            try:
                mapping = mapping_for_header(
                    kind=upload.kind,
                    mapping=mapping_from_dict(document, kind=upload.kind),
                    header=header,
                )
            except MappingError as exc:
                problems.append(str(exc))
        if mapping is not None:
            # The import runs in a worker; the result page shows its progress live.
            services.csv_upload_enqueue(upload=upload, mapping=mapping)
            if getattr(request, "htmx", False):
                # A swap would put the whole result page inside the form: navigate instead.
                return HttpResponseClientRedirect(reverse("csv-import-result", args=[upload.code]))
            return redirect("csv-import-result", code=upload.code)
        if problems and mapping is None and upload.status != CsvUploadStatus.IMPORTED:
            upload.status = CsvUploadStatus.FAILED
            upload.failure = "; ".join(problems)
            upload.save(update_fields=["status", "failure", "updated_at"])
    current = saved
    if request.method == "POST" and header:
        try:
            current = mapping_from_dict(
                _mapping_from_post(upload.kind, request.POST, header)[0], kind=upload.kind
            )
        except MappingError:
            current = saved
    if current is None and header:
        current = mapping_guess(kind=upload.kind, header=header)
    context = {
        "upload": upload,
        "header": header,
        "rows": rows,
        "problems": problems,
        "mapping_rows": _mapping_rows(upload.kind, current, header),
        "date_formats": COMMON_DATE_FORMATS,
        "mapping_json": json.dumps(current.to_json(), indent=2) if current else "",
    }
    status = 400 if problems else 200
    template = "invoices/imports/preview.html"
    if getattr(request, "htmx", False) and request.method == "POST":
        template += "#mapping-form"
    return render(request, template, context, status=status)


def _mapping_rows(kind: str, mapping: Mapping | None, header: list[str]) -> list[dict]:
    rows = []
    for name, spec in FIELDS[kind].items():
        formats = mapping.formats_for(name) if mapping and spec.type == "date" else ()
        if mapping and spec.type == "datetime":
            formats = mapping.date_formats.get(name) or mapping.date_formats.get("*") or ()
        rows.append(
            {
                "name": name,
                "type": spec.type,
                "required": spec.required,
                "help": spec.help,
                "column": (mapping.fields.get(name, "") if mapping else ""),
                "is_date": spec.type in ("date", "datetime"),
                "format": formats[0] if formats else "",
                "default": (mapping.defaults.get(name, "") if mapping else ""),
            }
        )
    return rows


@require_GET
@require_org_permission("write:invoices")
def csv_import_result(request, code) -> HttpResponse:
    upload = _upload_or_404(request, code)
    pending = upload.status in (CsvUploadStatus.QUEUED, CsvUploadStatus.RUNNING)
    if not pending and upload.result is None and upload.status != CsvUploadStatus.FAILED:
        return redirect("csv-import-preview", code=upload.code)
    context = {
        "upload": upload,
        "result": upload.result,
        "pending": pending,
        "progress": services.csv_upload_progress(upload=upload),
    }
    if getattr(request, "htmx", False) and request.htmx.target == "import-progress":
        response = render(request, "invoices/imports/result.html#import-progress", context)
        # Finished: stop polling and load the full result page.
        return response if pending else HttpResponseClientRedirect(request.path)
    return render(request, "invoices/imports/result.html", context)


def _export(request, kind: str) -> HttpResponse:
    try:
        return export_response(
            kind=kind, organization=request.organization, params=request.GET, request=request
        )
    except ExportError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")


@require_GET
@require_org_permission("read:invoices")
def invoice_export(request) -> HttpResponse:
    return _export(request, "invoices")


@require_GET
@require_org_permission("read:invoices")
def customer_export(request) -> HttpResponse:
    return _export(request, "customers")


@require_GET
@require_org_permission("read:invoices")
def payment_export(request) -> HttpResponse:
    return _export(request, "payments")
