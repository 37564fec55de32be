"""Dashboard CSV import: upload → preview and mapping → result, with roles and scoping."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invoices.models import CsvUpload, CsvUploadStatus, Invoice

FILE = (
    "Invoice No,Client,Date,Amount\n"
    "A-1,ACME,01/31/2026,100.00\n"
    "A-2,ACME,02/01/2026,oops\n"
    "A-3,Globex,02/02/2026,300.00\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, text=FILE, kind="invoices", mapping=None):
    data = {"kind": kind, "file": SimpleUploadedFile("jan.csv", text.encode(), "text/csv")}
    if mapping is not None:
        data["mapping_file"] = SimpleUploadedFile(
            "m.json", json.dumps(mapping).encode(), "application/json"
        )
    return client.post(reverse("csv-import"), data)


def test_it_walks_upload_preview_mapping_and_result(collector_client, org, worker):
    response = _upload(collector_client)
    upload = CsvUpload.objects.get(organization=org)
    assert response.status_code == 302
    assert response["Location"] == reverse("csv-import-preview", args=[upload.code])

    preview = collector_client.get(response["Location"])
    assert preview.status_code == 200
    assert preview.context["header"] == ["Invoice No", "Client", "Date", "Amount"]
    assert len(preview.context["rows"]) == 3
    assert "<td>A-2</td>" in preview.content.decode()
    # The guess maps what it recognises: "Invoice No" is a number, "Amount" the total.
    guessed = {row["name"]: row["column"] for row in preview.context["mapping_rows"]}
    assert guessed["number"] == "Invoice No"
    assert guessed["total"] == "Amount"

    with worker():
        result = collector_client.post(
            reverse("csv-import-preview", args=[upload.code]),
            {
                "field_number": "Invoice No",
                "field_customer": "Client",
                "field_issue_date": "Date",
                "format_issue_date": "%m/%d/%Y",
                "field_total": "Amount",
            },
        )
    assert result.status_code == 302
    assert result["Location"] == reverse("csv-import-result", args=[upload.code])

    page = collector_client.get(result["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert '<dd id="count-created">2</dd>' in body
    assert '<dd id="count-errors">1</dd>' in body
    assert "<td>3</td><td>Amount</td><td>&#x27;oops&#x27; is not a number</td>" in body
    assert Invoice.objects.get(organization=org, number="A-3").total == Decimal("300.00")
    upload.refresh_from_db()
    assert upload.status == CsvUploadStatus.IMPORTED
    assert upload.mapping["fields"]["issue_date"] == "Date"


def test_it_shows_mapping_problems_without_importing(collector_client, org):
    _upload(collector_client)
    upload = CsvUpload.objects.get(organization=org)

    response = collector_client.post(
        reverse("csv-import-preview", args=[upload.code]),
        {"field_number": "Invoice No", "field_customer": "Client"},
    )

    assert response.status_code == 400
    assert "required invoices fields not mapped to a column: issue_date, total" in (
        response.content.decode()
    )
    assert not Invoice.objects.filter(organization=org).exists()


def test_it_uses_an_uploaded_mapping_file(owner_client, org, worker):
    mapping = {
        "fields": {
            "number": "Invoice No",
            "customer": "Client",
            "issue_date": "Date",
            "total": "Amount",
        },
        "date_format": "%m/%d/%Y",
        "defaults": {"currency": "EUR"},
    }
    _upload(owner_client, mapping=mapping)
    upload = CsvUpload.objects.get(organization=org)
    preview = owner_client.get(reverse("csv-import-preview", args=[upload.code]))
    form = {f"field_{row['name']}": row["column"] for row in preview.context["mapping_rows"]}
    form.update({"format_issue_date": "%m/%d/%Y"})

    with worker():
        owner_client.post(reverse("csv-import-preview", args=[upload.code]), form)

    assert Invoice.objects.get(organization=org, number="A-1").currency == "EUR"


def test_it_rejects_a_bad_mapping_file_at_upload(collector_client, org):
    response = _upload(collector_client, mapping={"fields": {"nope": "x"}})

    assert response.status_code == 400
    assert "fields: unknown invoices fields nope" in response.content.decode()
    assert not CsvUpload.objects.exists()


def test_it_forbids_viewers(viewer_client, org):
    assert viewer_client.get(reverse("csv-import")).status_code == 403
    assert _upload(viewer_client).status_code == 403
    assert not CsvUpload.objects.exists()


def test_it_hides_another_organizations_upload(collector_client, outsider_client, org):
    _upload(collector_client)
    upload = CsvUpload.objects.get(organization=org)

    for name in ("csv-import-preview", "csv-import-result"):
        response = outsider_client.get(reverse(name, args=[upload.code]))
        assert response.status_code == 404
        assert "jan.csv" not in response.content.decode()
    response = outsider_client.post(
        reverse("csv-import-preview", args=[upload.code]), {"field_total": "Amount"}
    )
    assert response.status_code == 404
    assert "jan.csv" not in outsider_client.get(reverse("csv-import")).content.decode()


def test_it_sends_anonymous_users_to_login(client, org):
    response = client.get(reverse("csv-import"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_reports_a_non_utf8_file_on_the_preview(collector_client, org):
    _upload(collector_client)
    upload = CsvUpload.objects.get(organization=org)
    upload.file.save("latin.csv", SimpleUploadedFile("l.csv", "No,Café\n1,é\n".encode("latin-1")))

    response = collector_client.get(reverse("csv-import-preview", args=[upload.code]))

    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


def test_it_navigates_an_htmx_run_to_the_result_and_errors_swap_the_form(collector_client, org):
    _upload(collector_client)
    upload = CsvUpload.objects.get(organization=org)
    url = reverse("csv-import-preview", args=[upload.code])

    problem = collector_client.post(url, {"field_number": "Invoice No"}, HTTP_HX_REQUEST="true")
    assert problem.status_code == 400
    body = problem.content.decode()
    assert body.lstrip().startswith('<section id="mapping-form"')
    assert "<html" not in body

    done = collector_client.post(
        url,
        {
            "field_number": "Invoice No",
            "field_customer": "Client",
            "field_issue_date": "Date",
            "format_issue_date": "%m/%d/%Y",
            "field_total": "Amount",
        },
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 200
    assert done["HX-Redirect"] == reverse("csv-import-result", args=[upload.code])
