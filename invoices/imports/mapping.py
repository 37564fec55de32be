"""Mapping files: which column of the user's CSV feeds which of our fields, and how to read it.

A mapping is plain JSON so it can be kept next to the export job that produces the file::

    {
      "kind": "invoices",
      "fields": {"external_id": "invoiceNumber", "customer": "customerID", ...},
      "date_format": "%m/%d/%Y",
      "date_formats": {"paid_date": ["%m/%d/%Y", "%Y-%m-%d"]},
      "defaults": {"currency": "USD"},
      "values": {"disputed": {"Yes": true, "No": false}},
      "attributes": {"paperless_bill": "PaperlessBill"},
      "customers": {"create_missing": true, "fields": {"country": "countryCode"},
                    "attributes": {"paperless_date": "PaperlessDate"}},
      "ignore": ["DaysToSettle", "DaysLate"]
    }

Everything is validated up front (``mapping_load``) so a bad mapping fails before any row is read,
with a message that names the key and the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("invoices", "customers", "payments")

TEXT, DATE, DATETIME, MONEY, INT, BOOL, CURRENCY, CHOICE = (
    "text",
    "date",
    "datetime",
    "money",
    "int",
    "bool",
    "currency",
    "choice",
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    max_length: int = 0
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    positive: bool = False
    help: str = ""


def _specs(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


INVOICE_STATUSES = ("draft", "open", "partially_paid", "paid", "void", "written_off")
PAYMENT_METHODS = ("card", "ach", "wire", "check", "sepa", "cash", "other")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded")
REMINDER_CHANNELS = ("email", "sms", "letter", "phone")

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "invoices": _specs(
        FieldSpec("external_id", TEXT, True, 128, help="the source system's id (upsert key)"),
        FieldSpec("number", TEXT, True, 64, help="invoice number shown to the customer"),
        FieldSpec("customer", TEXT, True, 128, help="the customer's external id"),
        FieldSpec("customer_name", TEXT, False, 200, help="name for customers created here"),
        FieldSpec("issue_date", DATE, True),
        FieldSpec("due_date", DATE, help="defaults to issue date + payment terms"),
        FieldSpec("currency", CURRENCY, help="defaults to the organization's base currency"),
        FieldSpec("total", MONEY, True),
        FieldSpec("tax_total", MONEY),
        FieldSpec("balance", MONEY, help="amount still owed"),
        FieldSpec("amount_paid", MONEY, help="alternative to balance"),
        FieldSpec("status", CHOICE, choices=INVOICE_STATUSES),
        FieldSpec("disputed", BOOL),
        FieldSpec("po_number", TEXT, False, 64),
        FieldSpec("payment_terms_days", INT, minimum=0, maximum=32767),
        FieldSpec("paid_date", DATE, help="date settled: marks the invoice paid"),
    ),
    "customers": _specs(
        FieldSpec("external_id", TEXT, True, 128),
        FieldSpec("name", TEXT, True, 200),
        FieldSpec("email", TEXT, False, 254),
        FieldSpec("phone", TEXT, False, 40),
        FieldSpec("currency", CURRENCY),
        FieldSpec("payment_terms_days", INT, minimum=0, maximum=32767),
        FieldSpec("credit_limit", MONEY),
        FieldSpec("credit_score", INT, minimum=0, maximum=32767),
        FieldSpec("industry", TEXT, False, 80),
        FieldSpec("country", TEXT, False, 8),
        FieldSpec("reminder_channel", CHOICE, choices=REMINDER_CHANNELS),
        FieldSpec("reminder_contact", TEXT, False, 200),
        FieldSpec("reminder_language", TEXT, False, 8),
        FieldSpec("do_not_remind", BOOL),
        FieldSpec("notes", TEXT),
    ),
    "payments": _specs(
        FieldSpec("external_id", TEXT, True, 128),
        FieldSpec("customer", TEXT, True, 128, help="the customer's external id"),
        FieldSpec("amount", MONEY, True, positive=True),
        FieldSpec("currency", CURRENCY),
        FieldSpec("received_at", DATETIME, True, help="naive times are in the org's time zone"),
        FieldSpec("method", CHOICE, choices=PAYMENT_METHODS),
        FieldSpec("status", CHOICE, choices=PAYMENT_STATUSES),
        FieldSpec("failure_code", TEXT, False, 64),
        FieldSpec("failure_reason", TEXT, False, 255),
        FieldSpec("processor", TEXT, False, 64),
        FieldSpec("reference", TEXT, False, 128),
        FieldSpec("invoice", TEXT, False, 128, help="external id of the invoice it pays"),
        FieldSpec("allocated_amount", MONEY, positive=True, help="defaults to the amount"),
    ),
}

# Customer columns an invoice file may carry for the customers it creates or refreshes.
INVOICE_CUSTOMER_FIELDS = _specs(
    FieldSpec("country", TEXT, False, 8),
    FieldSpec("industry", TEXT, False, 80),
    FieldSpec("email", TEXT, False, 254),
    FieldSpec("phone", TEXT, False, 40),
)

# Header spellings seen in accounting exports, for the auto-guess (normalized: lower, alnum only).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "invoices": {
        "external_id": ("externalid", "id", "invoiceid"),
        "number": ("number", "invoicenumber", "invoiceno", "invoicenum", "docnumber"),
        "customer": ("customer", "customerid", "customerexternalid", "clientid"),
        "customer_name": ("customername", "clientname"),
        "issue_date": ("issuedate", "invoicedate", "date", "txndate"),
        "due_date": ("duedate",),
        "total": ("total", "amount", "invoiceamount", "totalamt", "totalamount"),
        "paid_date": ("paiddate", "settleddate", "settlementdate"),
        "po_number": ("ponumber", "po", "purchaseorder"),
        "payment_terms_days": ("paymenttermsdays", "terms", "termsdays"),
    },
    "customers": {
        "external_id": ("externalid", "id", "customerid"),
        "name": ("name", "customername", "displayname", "companyname"),
        "email": ("email", "emailaddress"),
    },
    "payments": {
        "external_id": ("externalid", "id", "paymentid", "transactionid"),
        "customer": ("customer", "customerid", "customerexternalid"),
        "amount": ("amount", "paymentamount", "totalamt"),
        "received_at": ("receivedat", "date", "paymentdate", "createdat", "timestamp"),
        "invoice": ("invoice", "invoiceid", "invoiceexternalid", "invoicenumber"),
    },
}

DEFAULT_DATE_FORMATS = ("%Y-%m-%d",)
TOP_LEVEL_KEYS = {
    "kind",
    "description",
    "delimiter",
    "fields",
    "date_format",
    "date_formats",
    "defaults",
    "values",
    "attributes",
    "customers",
    "ignore",
    "thousands_separator",
    "decimal_separator",
}


class ImportFailed(ValueError):
    """The whole import cannot run (unreadable file, bad mapping): nothing is imported."""


class MappingError(ImportFailed):
    """The mapping itself is wrong, or does not fit the file's header."""


@dataclass
class Mapping:
    kind: str
    fields: dict[str, str]
    date_formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    create_missing_customers: bool = False
    customer_fields: dict[str, str] = field(default_factory=dict)
    customer_attributes: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    delimiter: str = ","
    thousands_separator: str = ""
    decimal_separator: str = "."

    @property
    def specs(self) -> dict[str, FieldSpec]:
        return FIELDS[self.kind]

    def formats_for(self, name: str) -> tuple[str, ...]:
        return self.date_formats.get(name) or self.date_formats.get("*") or DEFAULT_DATE_FORMATS

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "fields": dict(self.fields)}
        if self.date_formats:
            data["date_formats"] = {k: list(v) for k, v in self.date_formats.items()}
        for key in ("defaults", "values", "attributes"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.create_missing_customers or self.customer_fields or self.customer_attributes:
            data["customers"] = {
                "create_missing": self.create_missing_customers,
                "fields": self.customer_fields,
                "attributes": self.customer_attributes,
            }
        if self.ignore:
            data["ignore"] = list(self.ignore)
        if self.delimiter != ",":
            data["delimiter"] = self.delimiter
        if self.thousands_separator:
            data["thousands_separator"] = self.thousands_separator
        if self.decimal_separator != ".":
            data["decimal_separator"] = self.decimal_separator
        return data

    def referenced_columns(self) -> dict[str, str]:
        """Every file column the mapping reads, with the place that reads it (for messages)."""
        used = {}
        for name, column in self.fields.items():
            used.setdefault(column, f"fields.{name}")
        for name, column in self.attributes.items():
            used.setdefault(column, f"attributes.{name}")
        for name, column in self.customer_fields.items():
            used.setdefault(column, f"customers.fields.{name}")
        for name, column in self.customer_attributes.items():
            used.setdefault(column, f"customers.attributes.{name}")
        return used

    def check_header(self, header: list[str]) -> None:
        present = set(header)
        missing = [
            f"{where} -> {column!r}"
            for column, where in self.referenced_columns().items()
            if column not in present
        ]
        if missing:
            raise MappingError(
                "mapped columns not in the file header: "
                + ", ".join(missing)
                + f" (the header has: {', '.join(header) or 'nothing'})"
            )


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mapping_guess(*, kind: str, header: list[str]) -> Mapping:
    """Our default mapping for a header: exact field names first, then common spellings.

    Invoice files may omit one of number / external_id: each then stands in for the other.
    A missing customer is created from the invoice file (named by ``customer_name`` or its id).
    """
    if kind not in KINDS:
        raise MappingError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    by_norm: dict[str, str] = {}
    for column in header:
        by_norm.setdefault(_normalize(column), column)
    fields: dict[str, str] = {}
    taken: set[str] = set()
    for name in FIELDS[kind]:
        column = by_norm.get(_normalize(name))
        if column and column not in taken:
            fields[name] = column
            taken.add(column)
    for name, spellings in SYNONYMS.get(kind, {}).items():
        if name in fields:
            continue
        for spelling in spellings:
            column = by_norm.get(spelling)
            if column and column not in taken:
                fields[name] = column
                taken.add(column)
                break
    if kind == "invoices":
        if "number" in fields and "external_id" not in fields:
            fields["external_id"] = fields["number"]
        elif "external_id" in fields and "number" not in fields:
            fields["number"] = fields["external_id"]
    return Mapping(kind=kind, fields=fields, create_missing_customers=(kind == "invoices"))


def _str_dict(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise MappingError(f"{where} must be an object of name -> column name")
    for key, column in value.items():
        if not isinstance(column, str) or not column:
            raise MappingError(f"{where}.{key} must be a non-empty column name, got {column!r}")
    return dict(value)


def _formats(value: Any, where: str) -> tuple[str, ...]:
    formats = [value] if isinstance(value, str) else value
    if not isinstance(formats, list) or not formats:
        raise MappingError(f"{where} must be a format string or a list of them")
    for item in formats:
        if not isinstance(item, str) or "%" not in item:
            raise MappingError(
                f"{where}: {item!r} is not a strptime format (e.g. '%m/%d/%Y' or '%Y-%m-%d')"
            )
    return tuple(formats)


def mapping_from_dict(data: Any, *, kind: str) -> Mapping:
    """Validate a parsed mapping document; every problem names its key."""
    if not isinstance(data, dict):
        raise MappingError("a mapping must be a JSON object")
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise MappingError(
            f"unknown mapping keys: {', '.join(sorted(unknown))} "
            f"(allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})"
        )
    if kind not in KINDS:
        raise MappingError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if data.get("kind", kind) != kind:
        raise MappingError(f"this mapping is for {data['kind']}, not {kind}")
    specs = FIELDS[kind]
    fields = _str_dict(data.get("fields", {}), "fields")
    unknown_fields = set(fields) - set(specs)
    if unknown_fields:
        raise MappingError(
            f"fields: unknown {kind} fields {', '.join(sorted(unknown_fields))} "
            f"(known: {', '.join(specs)})"
        )
    if kind == "invoices":
        if "number" in fields and "external_id" not in fields:
            fields["external_id"] = fields["number"]
        elif "external_id" in fields and "number" not in fields:
            fields["number"] = fields["external_id"]

    date_formats: dict[str, tuple[str, ...]] = {}
    if "date_format" in data:
        date_formats["*"] = _formats(data["date_format"], "date_format")
    raw_formats = data.get("date_formats", {})
    if not isinstance(raw_formats, dict):
        raise MappingError("date_formats must be an object of field -> format(s)")
    for name, value in raw_formats.items():
        if name != "*" and (name not in specs or specs[name].type not in (DATE, DATETIME)):
            raise MappingError(f"date_formats.{name}: {name} is not a date field of {kind}")
        date_formats[name] = _formats(value, f"date_formats.{name}")

    values = data.get("values", {})
    if not isinstance(values, dict):
        raise MappingError("values must be an object of field -> {file value: our value}")
    for name, table in values.items():
        if name not in specs:
            raise MappingError(f"values.{name}: {name} is not a {kind} field")
        if not isinstance(table, dict):
            raise MappingError(f"values.{name} must be an object of file value -> our value")

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise MappingError("defaults must be an object of field -> value")
    for name in defaults:
        if name not in specs:
            raise MappingError(f"defaults.{name}: {name} is not a {kind} field")

    customers = data.get("customers", {})
    if not isinstance(customers, dict):
        raise MappingError("customers must be an object")
    unknown_customer_keys = set(customers) - {"create_missing", "fields", "attributes"}
    if unknown_customer_keys:
        raise MappingError(f"customers: unknown keys {', '.join(sorted(unknown_customer_keys))}")
    if customers and kind != "invoices":
        raise MappingError("customers: only an invoice file can create or describe customers")
    create_missing = customers.get("create_missing", kind == "invoices")
    if not isinstance(create_missing, bool):
        raise MappingError("customers.create_missing must be true or false")
    customer_fields = _str_dict(customers.get("fields", {}), "customers.fields")
    bad = set(customer_fields) - set(INVOICE_CUSTOMER_FIELDS)
    if bad:
        raise MappingError(
            f"customers.fields: cannot set {', '.join(sorted(bad))} from an invoice file "
            f"(allowed: {', '.join(INVOICE_CUSTOMER_FIELDS)})"
        )

    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise MappingError("ignore must be a list of column names")
    mapping = Mapping(
        kind=kind,
        fields=fields,
        date_formats=date_formats,
        defaults=dict(defaults),
        values={name: dict(table) for name, table in values.items()},
        attributes=_str_dict(data.get("attributes", {}), "attributes"),
        create_missing_customers=create_missing,
        customer_fields=customer_fields,
        customer_attributes=_str_dict(customers.get("attributes", {}), "customers.attributes"),
        ignore=tuple(ignore),
        delimiter=data.get("delimiter", ","),
        thousands_separator=data.get("thousands_separator", ""),
        decimal_separator=data.get("decimal_separator", "."),
    )
    if not isinstance(mapping.delimiter, str) or len(mapping.delimiter) != 1:
        raise MappingError("delimiter must be a single character")
    for key in ("thousands_separator", "decimal_separator"):
        if not isinstance(getattr(mapping, key), str) or len(getattr(mapping, key)) > 1:
            raise MappingError(f"{key} must be a single character or empty")
    clash = set(mapping.ignore) & set(mapping.referenced_columns())
    if clash:
        raise MappingError(
            f"ignore: column(s) {', '.join(sorted(clash))} are both ignored and mapped"
        )
    # Defaults and value tables go through the same converters as the file, so a typo there
    # is a mapping error now instead of a million row errors later.
    from invoices.imports.parsing import check_mapping_values

    check_mapping_values(mapping)
    _check_complete(mapping)
    return mapping


def _check_complete(mapping: Mapping) -> None:
    missing = [
        name
        for name, spec in mapping.specs.items()
        if spec.required and name not in mapping.fields and name not in mapping.defaults
    ]
    if missing:
        raise MappingError(
            f"required {mapping.kind} fields not mapped to a column: {', '.join(missing)}"
        )


def mapping_parse(*, kind: str, source: str | bytes | Path) -> Mapping:
    """A mapping from a JSON file path or JSON text, validated."""
    if isinstance(source, Path):
        try:
            source = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise MappingError(f"cannot read mapping file {source}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise MappingError(f"mapping file {source} is not UTF-8 text") from exc
    try:
        data = json.loads(source)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping is not valid JSON: {exc}") from exc
    return mapping_from_dict(data, kind=kind)


def mapping_for_header(*, kind: str, mapping: Mapping | None, header: list[str]) -> Mapping:
    """The given mapping checked against the header, or our guess when none was given."""
    if mapping is None:
        mapping = mapping_guess(kind=kind, header=header)
        _check_complete(mapping)
    elif mapping.kind != kind:
        raise MappingError(f"this mapping is for {mapping.kind}, not {kind}")
    mapping.check_header(header)
    return mapping


SHIPPED_MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
