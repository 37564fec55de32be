"""A local fake Xero organisation speaking the Accounting API wire format (INTEGRATIONS.md §2, §6).

Identity: /connect/token (30-minute access tokens; refresh tokens rotate with a grace period),
/connect/revocation and /connections. Accounting: /api.xro/2.0/Contacts, /Invoices and
/Payments with ``page``/``pageSize``, If-Modified-Since, the ``pagination`` object and
``/Date(ms+0000)/`` dates; a wrong or missing xero-tenant-id answers 403; per-minute and per-day
limit headers; 429 with X-Rate-Limit-Problem and Retry-After; the ValidationException shape.

Run it alone for a local walk-through: ``python -m tests.fakes.xero_server --port 8766``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal
from typing import Any

from tests.fakes.http_base import FakeServer, Request, Response, json_response
from tests.fakes.oauth_fake import OAuthState

TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"


def ms_date(moment: dt.datetime | dt.date, *, offset: bool = True) -> str:
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), dt.UTC)
    millis = int(moment.timestamp() * 1000)
    return f"/Date({millis}+0000)/" if offset else f"/Date({millis})/"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def throttle(problem: str = "minute", retry_after: str | None = "1") -> Response:
    headers = {"X-Rate-Limit-Problem": problem, "Content-Type": "text/plain"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Response(429, b"Rate limit exceeded", headers)


class FakeXero(FakeServer):
    def __init__(self, tenant: str = TENANT) -> None:
        super().__init__()
        self.tenant = tenant
        self.oauth = OAuthState(access_lifetime=1800, grace_seconds=1800)
        self.rows: dict[str, dict[str, dict[str, Any]]] = {
            "Contacts": {},
            "Invoices": {},
            "Payments": {},
            "CreditNotes": {},
        }
        self.day_remaining = 5000
        self._number = 0

    # ------------------------------------------------------------------ data
    @staticmethod
    def _touch(row: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        # Distinct versions even for two edits within one millisecond.
        previous = row.get("_updated")
        if previous is not None and now <= previous:
            now = previous + dt.timedelta(milliseconds=1)
        row["_updated"] = now
        row["UpdatedDateUTC"] = ms_date(now)
        return row

    def add_contact(self, name: str, *, email: str = "", currency: str = "USD") -> str:
        cid = str(uuid.uuid4())
        self.rows["Contacts"][cid] = self._touch(
            {
                "ContactID": cid,
                "Name": name,
                "EmailAddress": email,
                "ContactStatus": "ACTIVE",
                "IsCustomer": True,
                "IsSupplier": False,
                "DefaultCurrency": currency,
            }
        )
        return cid

    def add_invoice(
        self,
        contact_id: str,
        *,
        lines: list[tuple[str, int, str, str]],
        date: dt.date,
        due: dt.date,
        status: str = "AUTHORISED",
        number: str = "",
        currency: str = "USD",
    ) -> str:
        """``lines``: (description, quantity, unit amount, tax amount)."""
        iid = str(uuid.uuid4())
        self._number += 1
        items = []
        subtotal = tax_total = Decimal(0)
        for description, qty, price, tax in lines:
            amount = Decimal(qty) * Decimal(price)
            subtotal += amount
            tax_total += Decimal(tax)
            items.append(
                {
                    "LineItemID": str(uuid.uuid4()),
                    "Description": description,
                    "Quantity": qty,
                    "UnitAmount": Decimal(price),
                    "LineAmount": amount,
                    "TaxAmount": Decimal(tax),
                    "AccountCode": "200",
                }
            )
        total = subtotal + tax_total
        contact = self.rows["Contacts"][contact_id]
        self.rows["Invoices"][iid] = self._touch(
            {
                "Type": "ACCREC",
                "InvoiceID": iid,
                "InvoiceNumber": number or f"INV-{self._number:05d}",
                "Reference": "",
                "Status": status,
                "LineAmountTypes": "Exclusive",
                "Contact": {"ContactID": contact_id, "Name": contact["Name"]},
                "Date": ms_date(date),
                "DateString": f"{date.isoformat()}T00:00:00",
                "DueDate": ms_date(due),
                "DueDateString": f"{due.isoformat()}T00:00:00",
                "SubTotal": subtotal,
                "TotalTax": tax_total,
                "Total": total,
                "AmountDue": total,
                "AmountPaid": Decimal(0),
                "AmountCredited": Decimal(0),
                "CurrencyCode": currency,
                "CurrencyRate": Decimal(1),
                "LineItems": items,
                "Payments": [],
                "HasErrors": False,
            }
        )
        return iid

    def add_payment(self, invoice_id: str, amount: str, *, date: dt.date, batch: str = "") -> str:
        pid = str(uuid.uuid4())
        invoice = self.rows["Invoices"][invoice_id]
        row = {
            "PaymentID": pid,
            "PaymentType": "ACCRECPAYMENT",
            "Status": "AUTHORISED",
            "Date": ms_date(date),
            "Amount": Decimal(amount),
            "CurrencyRate": Decimal(1),
            "Reference": f"PAY-{pid[:6]}",
            "IsReconciled": True,
            "Invoice": {
                "InvoiceID": invoice_id,
                "InvoiceNumber": invoice["InvoiceNumber"],
                "Type": "ACCREC",
                "Contact": dict(invoice["Contact"]),
            },
            "Account": {"AccountID": "ac993f75-035b-433c-82e0-7b7a2d40802c", "Code": "090"},
        }
        if batch:
            row["BatchPaymentID"] = batch
        self.rows["Payments"][pid] = self._touch(row)
        invoice["AmountPaid"] += Decimal(amount)
        invoice["AmountDue"] -= Decimal(amount)
        if invoice["AmountDue"] == 0:
            invoice["Status"] = "PAID"
        invoice["Payments"].append(
            {"PaymentID": pid, "Date": ms_date(date), "Amount": Decimal(amount)}
        )
        self._touch(invoice)
        return pid

    def add_credit_note(
        self,
        contact_id: str,
        amount: str,
        *,
        date: dt.date,
        allocations: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """An ACCRECCREDIT credit note of ``amount`` (one line, no tax), allocated to invoices
        as (invoice id, amount); what is left stays as RemainingCredit."""
        cid = str(uuid.uuid4())
        self._number += 1
        total = Decimal(amount)
        contact = self.rows["Contacts"][contact_id]
        row = {
            "Type": "ACCRECCREDIT",
            "CreditNoteID": cid,
            "CreditNoteNumber": f"CN-{self._number:05d}",
            "Reference": "",
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "Contact": {"ContactID": contact_id, "Name": contact["Name"]},
            "Date": ms_date(date),
            "DateString": f"{date.isoformat()}T00:00:00",
            "SubTotal": total,
            "TotalTax": Decimal(0),
            "Total": total,
            "RemainingCredit": total,
            "CurrencyCode": "USD",
            "CurrencyRate": Decimal(1),
            "LineItems": [
                {
                    "LineItemID": str(uuid.uuid4()),
                    "Description": "Credit",
                    "Quantity": 1,
                    "UnitAmount": total,
                    "LineAmount": total,
                    "TaxAmount": Decimal(0),
                    "AccountCode": "200",
                }
            ],
            "Allocations": [],
            "HasErrors": False,
        }
        self.rows["CreditNotes"][cid] = row
        for invoice_id, applied in allocations:
            self._allocate(row, invoice_id, Decimal(applied), date)
        self._touch(row)
        return cid

    def _allocate(
        self, note: dict[str, Any], invoice_id: str, amount: Decimal, day: dt.date
    ) -> None:
        invoice = self.rows["Invoices"][invoice_id]
        note["Allocations"].append(
            {
                "AllocationID": str(uuid.uuid4()),
                "Amount": amount,
                "Date": ms_date(day),
                "Invoice": {"InvoiceID": invoice_id, "InvoiceNumber": invoice["InvoiceNumber"]},
                "IsDeleted": False,
            }
        )
        note["RemainingCredit"] -= amount
        if note["RemainingCredit"] == 0:
            note["Status"] = "PAID"
        self._credit_invoice(invoice, amount)

    def _credit_invoice(self, invoice: dict[str, Any], amount: Decimal) -> None:
        invoice["AmountCredited"] += amount
        invoice["AmountDue"] -= amount
        invoice["Status"] = "PAID" if invoice["AmountDue"] == 0 else "AUTHORISED"
        self._touch(invoice)

    def void_credit_note(self, cid: str) -> None:
        """Xero voids a credit note only once its allocations are removed; both happen here."""
        note = self.rows["CreditNotes"][cid]
        for allocation in note["Allocations"]:
            if not allocation["IsDeleted"]:
                allocation["IsDeleted"] = True
                invoice = self.rows["Invoices"][allocation["Invoice"]["InvoiceID"]]
                self._credit_invoice(invoice, -allocation["Amount"])
        note["Status"] = "VOIDED"
        note["RemainingCredit"] = Decimal(0)
        self._touch(note)

    def set_invoice(self, iid: str, **changes: Any) -> None:
        self.rows["Invoices"][iid].update(changes)
        self._touch(self.rows["Invoices"][iid])

    def delete_payment(self, pid: str) -> None:
        row = self.rows["Payments"][pid]
        row["Status"] = "DELETED"
        self._touch(row)
        invoice = self.rows["Invoices"][row["Invoice"]["InvoiceID"]]
        invoice["AmountPaid"] -= row["Amount"]
        invoice["AmountDue"] += row["Amount"]
        invoice["Status"] = "AUTHORISED"
        self._touch(invoice)

    # ------------------------------------------------------------------ webhooks
    def webhook(self, events: list[tuple[str, str, str]], *, sequence: int = 1) -> bytes:
        """``events``: (category INVOICE/CONTACT, resource id, CREATE/UPDATE)."""
        rows = [
            {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/{c.title()}s/{r}",
                "resourceId": r,
                "eventDateUtc": _now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "eventType": t,
                "eventCategory": c,
                "tenantId": self.tenant,
                "tenantType": "ORGANISATION",
            }
            for c, r, t in events
        ]
        payload = {
            "events": rows,
            "firstEventSequence": sequence,
            "lastEventSequence": sequence,
            "entropy": uuid.uuid4().hex[:20].upper(),
        }
        return json.dumps(payload).encode()

    @staticmethod
    def intent_to_receive() -> bytes:
        payload = {
            "events": [],
            "firstEventSequence": 0,
            "lastEventSequence": 0,
            "entropy": uuid.uuid4().hex[:20].upper(),
        }
        return json.dumps(payload).encode()

    # ------------------------------------------------------------------ HTTP
    def _limits(self) -> dict[str, str]:
        return {
            "X-DayLimit-Remaining": str(self.day_remaining),
            "X-MinLimit-Remaining": "59",
            "X-AppMinLimit-Remaining": "9999",
        }

    def handle(self, request: Request) -> Response:
        if request.path == "/connect/token":
            return self.oauth.token_endpoint(
                request,
                extra={
                    "scope": request.form().get("scope", "") or "offline_access accounting.invoices"
                },
            )
        if request.path == "/connect/revocation":
            return self.oauth.revoke_endpoint(request)
        if request.path == "/identity/connect/authorize":
            code = self.oauth.issue_code(request.query["redirect_uri"])
            target = f"{request.query['redirect_uri']}?code={code}&state={request.query['state']}"
            return Response(302, b"", {"Location": target})
        if not self.oauth.access_ok(request):
            return json_response(
                401,
                {
                    "Type": None,
                    "Title": "Unauthorized",
                    "Status": 401,
                    "Detail": "TokenExpired: token expired at 12/03/2026 10:00:00",
                },
            )
        if request.path == "/connections":
            return json_response(
                200,
                [
                    {
                        "id": str(uuid.uuid4()),
                        "authEventId": str(uuid.uuid4()),
                        "tenantId": self.tenant,
                        "tenantType": "ORGANISATION",
                        "tenantName": "Fake Xero Org (Demo)",
                        "createdDateUtc": "2026-11-01T10:00:00.0000000",
                        "updatedDateUtc": "2026-11-01T10:00:00.0000000",
                    }
                ],
            )
        if request.headers.get("xero-tenant-id") != self.tenant:
            return json_response(
                403,
                {
                    "Type": None,
                    "Title": "Forbidden",
                    "Status": 403,
                    "Detail": "AuthenticationUnsuccessful",
                },
            )
        resource = request.path.removeprefix("/api.xro/2.0/")
        if resource not in self.rows:
            return json_response(404, {"Title": "Not Found", "Status": 404, "Detail": resource})
        self.day_remaining = max(0, self.day_remaining - 1)
        return self._list(resource, request)

    def _list(self, resource: str, request: Request) -> Response:
        rows = sorted(
            self.rows[resource].values(), key=lambda r: (r["_updated"], next(iter(r.values())))
        )
        since_header = request.headers.get("if-modified-since")
        if since_header:
            since = dt.datetime.fromisoformat(since_header).replace(tzinfo=dt.UTC)
            rows = [r for r in rows if r["_updated"] >= since]
        page = int(request.query.get("page", "1"))
        size = min(int(request.query.get("pageSize", "100")), 1000)
        chunk = rows[(page - 1) * size : page * size]
        page_count = max(1, -(-len(rows) // size))
        body = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "PayPredict",
            "DateTimeUTC": ms_date(_now(), offset=False),
            "pagination": {
                "page": page,
                "pageSize": size,
                "pageCount": page_count,
                "itemCount": len(rows),
            },
            resource: [{k: v for k, v in r.items() if not k.startswith("_")} for r in chunk],
        }
        return json_response(200, body, **self._limits())


def populate_xero(fake: FakeXero, *, contacts: int, invoices: int, lines: int = 2) -> None:
    """Deterministic book: every third invoice fully paid, every fifth half paid, one batch
    payment over two invoices (two Payment records with one BatchPaymentID)."""
    ids = [
        fake.add_contact(f"Contact {n:04d}", email=f"ar{n}@example.test") for n in range(contacts)
    ]
    invoice_ids = []
    start = dt.date(2026, 9, 1)
    for n in range(invoices):
        day = start + dt.timedelta(days=n % 28)
        items = [
            (f"Service {k}", 1 + (n + k) % 5, f"{50 + (n * 7 + k * 13) % 400}.25", "0")
            for k in range(lines)
        ]
        invoice_ids.append(
            fake.add_invoice(
                ids[n % contacts], lines=items, date=day, due=day + dt.timedelta(days=30)
            )
        )
    for n, iid in enumerate(invoice_ids):
        total = fake.rows["Invoices"][iid]["Total"]
        if n % 3 == 0:
            fake.add_payment(iid, str(total), date=dt.date(2026, 10, 20))
        elif n % 5 == 0:
            fake.add_payment(
                iid, str((total / 2).quantize(Decimal("0.01"))), date=dt.date(2026, 10, 21)
            )
    open_ids = [i for i in invoice_ids if fake.rows["Invoices"][i]["AmountPaid"] == 0]
    if len(open_ids) >= 2:
        batch = str(uuid.uuid4())
        fake.add_payment(open_ids[0], "10.00", date=dt.date(2026, 10, 22), batch=batch)
        fake.add_payment(open_ids[1], "20.00", date=dt.date(2026, 10, 22), batch=batch)


def main() -> None:  # pragma: no cover - manual walk-through
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--contacts", type=int, default=5)
    parser.add_argument("--invoices", type=int, default=40)
    args = parser.parse_args()
    fake = FakeXero()
    populate_xero(fake, contacts=args.contacts, invoices=args.invoices)
    fake.start(args.port)
    print(f"fake Xero on {fake.url}  tenant {fake.tenant}")
    print(f"client id {fake.oauth.client_id}  secret {fake.oauth.client_secret}")
    print(f"refresh token {fake.oauth.refresh_token}")
    while True:
        time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
