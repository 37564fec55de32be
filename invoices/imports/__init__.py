"""CSV import (F5): mapping files, streaming row checks, COPY into staging, SQL upsert."""

from __future__ import annotations

from invoices.imports.mapping import ImportFailed, Mapping, MappingError, mapping_parse
from invoices.imports.service import ImportResult, csv_import

__all__ = ["ImportFailed", "ImportResult", "Mapping", "MappingError", "csv_import", "mapping_parse"]
