"""Trigram indexes for the worklist's free-text search (number, PO number, customer name).

pg_trgm ships with PostgreSQL's contrib package, which every server we deploy on has, but the
embedded pgserver wheel used by `make run` on a bare machine does not include it. There the
migration skips the indexes: search still works (ILIKE), only without an index. The indexes
are raw SQL, not model Meta indexes, for that reason.
"""

from django.db import migrations

# On UPPER(column): Django's icontains is ``UPPER(column) LIKE UPPER(pattern)`` on PostgreSQL,
# which an index on the bare column cannot serve.
INDEXES = {
    "invoice_number_trgm_idx": "invoices_invoice USING gin (upper(number) gin_trgm_ops)",
    "invoice_po_number_trgm_idx": "invoices_invoice USING gin (upper(po_number) gin_trgm_ops)",
    "customer_name_trgm_idx": "invoices_customer USING gin (upper(name) gin_trgm_ops)",
}


def trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    return cursor.fetchone() is not None


def create_indexes(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        if not trigram_available(cursor):
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, target in INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_indexes(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("invoices", "0007_invoice_credit")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
