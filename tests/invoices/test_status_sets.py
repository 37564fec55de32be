"""Invoice status sets live beside InvoiceStatus; the balance rule is one rule in Python and SQL."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import pytest
from django.db import connection

from invoices.models import (
    CLOSED_STATUSES,
    FIXED_STATUSES,
    InvoiceStatus,
    status_for_balance,
    status_for_balance_sql,
    status_sql,
)


def test_it_writes_a_status_set_as_a_sql_list():
    assert status_sql(CLOSED_STATUSES) == "('void', 'written_off')"
    assert set(FIXED_STATUSES) == {"draft", "void", "written_off"}
    with pytest.raises(ValueError):
        status_sql(("void'; DROP TABLE x; --",))


@pytest.mark.django_db
def test_it_derives_the_same_status_in_python_and_in_sql():
    total = Decimal("100.00")
    cases = list(product(InvoiceStatus.values, ["0", "40", "100", "120"]))
    expression = status_for_balance_sql(
        paid="%(paid)s::numeric", total="%(total)s::numeric", current="%(current)s"
    )
    with connection.cursor() as cursor:
        for current, paid in cases:
            cursor.execute(
                f"SELECT {expression}", {"paid": paid, "total": total, "current": current}
            )
            balance = max(total - Decimal(paid), Decimal(0))
            expected = status_for_balance(total=total, balance=balance, current=current)
            assert cursor.fetchone()[0] == expected, (current, paid)
