"""A local fake QuickBooks Online company speaking the v3 wire format (INTEGRATIONS.md §1, §6).

OAuth token/revoke (rotating refresh tokens; the old one answers invalid_grant), the query
endpoint (GET ?query= and POST application/text; STARTPOSITION/MAXRESULTS <= 1000, COUNT(*),
MetaData.LastUpdatedTime filters, no entity key when empty), CDC with ``status: "Deleted"``
tombstones, single reads, Fault bodies, 429s in JSON or XML, 401s for dead access tokens,
voids (zero amounts, "Voided" note) and a payment over several invoices.

Run it alone for a local walk-through: ``python -m tests.fakes.quickbooks_server --port 8765``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import time
from decimal import Decimal
from typing import Any

from tests.fakes.http_base import FakeServer, Request, Response, json_response
from tests.fakes.oauth_fake import OAuthState

REALM = "9130350000000001"
ENTITIES = ("Customer", "Invoice", "Payment")
QUERY = re.compile(
    r"SELECT\s+(?P<what>\*|COUNT\(\*\))\s+FROM\s+(?P<entity>\w+)(?:\s+WHERE\s+(?P<where>.*?))?"
    r"(?:\s+ORDERBY\s+(?P<order>[\w.]+)(?:\s+(?:ASC|DESC))?)?"
    r"(?:\s+STARTPOSITION\s+(?P<start>\d+))?(?:\s+MAXRESULTS\s+(?P<max>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=-7))).isoformat(timespec="seconds")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fault(status: int, code: str, message: str, detail: str = "", kind: str = "ValidationFault"):
    body = {
        "Fault": {
            "Error": [
                {"Message": message, "Detail": detail or message, "code": code, "element": ""}
            ],
            "type": kind,
        },
        "time": _ts(_now()),
    }
    return json_response(status, body, intuit_tid="1-fake-tid")


def throttle_json() -> Response:
    return fault(
        429,
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        kind="SERVICE",
    )


def throttle_xml() -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
        'time="2025-06-02T08:00:00.000-07:00">'
        '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
        "errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  "
        "Try again later</Detail></Error></Fault></IntuitResponse>"
    )
    return Response(429, body.encode(), {"Content-Type": "application/xml"})


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FakeQuickBooks(FakeServer):
    def __init__(self, realm: str = REALM) -> None:
        super().__init__()
        self.realm = realm
        self.oauth = OAuthState(access_lifetime=3600)
        self.rows: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES}
        self.deleted: list[tuple[str, str, dt.datetime]] = []
        self._next_id = 1

    # ------------------------------------------------------------------ data
    def _id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _touch(self, row: dict[str, Any], created: bool = False) -> dict[str, Any]:
        now = _now()
        row["SyncToken"] = "0" if created else str(int(row["SyncToken"]) + 1)
        meta = row.setdefault("MetaData", {"CreateTime": _ts(now)})
        meta["LastUpdatedTime"] = _ts(now)
        row["_updated"] = now
        return row

    def add_customer(self, name: str, *, currency: str = "USD", email: str = "") -> str:
        cid = self._id()
        row = {
            "Id": cid,
            "DisplayName": name,
            "Active": True,
            "CurrencyRef": {"value": currency},
            "domain": "QBO",
            "sparse": False,
        }
        if email:
            row["PrimaryEmailAddr"] = {"Address": email}
        self.rows["Customer"][cid] = self._touch(row, created=True)
        return cid

    def add_invoice(
        self,
        customer_id: str,
        *,
        number: str,
        lines: list[tuple[str, int, str]],
        txn_date: str = "2026-10-01",
        due_date: str = "2026-10-31",
        tax: str = "0",
        currency: str = "USD",
    ) -> str:
        """``lines``: (description, quantity, unit price)."""
        iid = self._id()
        line_rows = []
        subtotal = Decimal(0)
        for position, (description, qty, price) in enumerate(lines, start=1):
            amount = Decimal(qty) * Decimal(price)
            subtotal += amount
            line_rows.append(
                {
                    "Id": str(position),
                    "LineNum": position,
                    "Amount": amount,
                    "Description": description,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "7", "name": "Services"},
                        "Qty": qty,
                        "UnitPrice": Decimal(price),
                    },
                }
            )
        line_rows.append(
            {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        total = subtotal + Decimal(tax)
        row = {
            "Id": iid,
            "DocNumber": number,
            "TxnDate": txn_date,
            "DueDate": due_date,
            "CustomerRef": {"value": customer_id},
            "CurrencyRef": {"value": currency},
            "TotalAmt": total,
            "Balance": total,
            "Line": line_rows,
            "LinkedTxn": [],
            "TxnTaxDetail": {"TotalTax": Decimal(tax)},
            "domain": "QBO",
            "sparse": False,
            "EmailStatus": "EmailSent",
        }
        self.rows["Invoice"][iid] = self._touch(row, created=True)
        return iid

    def add_payment(
        self,
        customer_id: str,
        applied: list[tuple[str, str]],
        *,
        txn_date: str = "2026-10-20",
        total: str | None = None,
        ref: str = "",
    ) -> str:
        """``applied``: (invoice id, amount) — one Line per invoice."""
        pid = self._id()
        amount = sum((Decimal(a) for _, a in applied), Decimal(0))
        total_amt = Decimal(total) if total is not None else amount
        row = {
            "Id": pid,
            "TxnDate": txn_date,
            "TotalAmt": total_amt,
            "UnappliedAmt": total_amt - amount,
            "CustomerRef": {"value": customer_id},
            "CurrencyRef": {"value": "USD"},
            "PaymentRefNum": ref or f"REF-{pid}",
            "Line": [
                {"Amount": Decimal(a), "LinkedTxn": [{"TxnId": iid, "TxnType": "Invoice"}]}
                for iid, a in applied
            ],
        }
        self.rows["Payment"][pid] = self._touch(row, created=True)
        for iid, a in applied:
            invoice = self.rows["Invoice"][iid]
            invoice["Balance"] -= Decimal(a)
            invoice["LinkedTxn"].append({"TxnId": pid, "TxnType": "Payment"})
            self._touch(invoice)
        return pid

    def edit_invoice(self, iid: str, **changes: Any) -> None:
        self.rows["Invoice"][iid].update(changes)
        self._touch(self.rows["Invoice"][iid])

    def void_invoice(self, iid: str) -> None:
        row = self.rows["Invoice"][iid]
        row.update(
            TotalAmt=Decimal(0),
            Balance=Decimal(0),
            PrivateNote="Voided - " + str(row.get("PrivateNote", "")),
        )
        for line in row["Line"]:
            line["Amount"] = Decimal(0)
            if "SalesItemLineDetail" in line:
                line["SalesItemLineDetail"]["Qty"] = 0
        self._touch(row)

    def delete(self, entity: str, row_id: str) -> None:
        self.rows[entity].pop(row_id)
        self.deleted.append((entity, row_id, _now()))

    def move_payment(self, pid: str, to_invoice: str) -> None:
        row = self.rows["Payment"][pid]
        total = sum((Decimal(line["Amount"]) for line in row["Line"]), Decimal(0))
        row["Line"] = [
            {"Amount": total, "LinkedTxn": [{"TxnId": to_invoice, "TxnType": "Invoice"}]}
        ]
        self._touch(row)

    # ------------------------------------------------------------------ webhooks
    def webhook_classic(self, events: list[tuple[str, str, str]]) -> bytes:
        """``events``: (entity name, id, operation)."""
        entities = [
            {"name": n, "id": i, "operation": op, "lastUpdated": _now().isoformat()}
            for n, i, op in events
        ]
        payload = {
            "eventNotifications": [
                {"realmId": self.realm, "dataChangeEvent": {"entities": entities}}
            ]
        }
        return json.dumps(payload).encode()

    def webhook_cloudevents(self, events: list[tuple[str, str, str]]) -> bytes:
        payload = [
            {
                "specversion": "1.0",
                "id": f"evt-{n}-{i}-{op}",
                "source": "intuit.fake",
                "type": f"qbo.{n.lower()}.{op}.v1",
                "datacontenttype": "application/json",
                "time": _now().isoformat(),
                "intuitentityid": i,
                "intuitaccountid": self.realm,
                "data": {},
            }
            for n, i, op in events
        ]
        return json.dumps(payload).encode()

    # ------------------------------------------------------------------ HTTP
    def handle(self, request: Request) -> Response:
        if request.path == "/oauth2/v1/tokens/bearer":
            extra = {"x_refresh_token_expires_in": 8726400}
            if request.headers.get("x-include-refresh-token-hard-expires-in") == "true":
                extra["x_refresh_token_hard_expires_in"] = 157000000
            return self.oauth.token_endpoint(request, extra=extra)
        if request.path == "/v2/oauth2/tokens/revoke":
            return self.oauth.revoke_endpoint(request)
        if request.path == "/connect/oauth2":  # the consent screen: approve at once
            code = self.oauth.issue_code(request.query["redirect_uri"])
            back = request.query["redirect_uri"]
            state = request.query["state"]
            target = f"{back}?code={code}&state={state}&realmId={self.realm}"
            return Response(302, b"", {"Location": target})
        prefix = f"/v3/company/{self.realm}/"
        if not request.path.startswith(prefix):
            return fault(404, "610", "Object Not Found")
        if not self.oauth.access_ok(request):
            body = {
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthenticationFailed; "
                            "errorCode=003200; statusCode=401",
                            "detail": "Token expired",
                            "code": "3200",
                        }
                    ],
                    "type": "AUTHENTICATION",
                },
                "time": _ts(_now()),
            }
            return json_response(401, body, intuit_tid="1-fake-tid")
        rest = request.path[len(prefix) :]
        if rest == "query":
            statement = request.query.get("query") or request.body.decode()
            return self._query(statement)
        if rest == "cdc":
            return self._cdc(request.query)
        kind, _, row_id = rest.partition("/")
        entity = kind.capitalize()
        if entity in self.rows and row_id in self.rows[entity]:
            return json_response(
                200, {entity: self._public(self.rows[entity][row_id]), "time": _ts(_now())}
            )
        return fault(400, "610", "Object Not Found", f"Object Not Found : {kind} {row_id}")

    @staticmethod
    def _public(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if not k.startswith("_")}

    def _query(self, statement: str) -> Response:
        match = QUERY.match(statement.strip())
        if match is None or match["entity"] not in self.rows:
            return fault(400, "4000", "Error parsing query", f"QueryParserError: {statement[:80]}")
        maximum = int(match["max"] or 100)
        if maximum > 1000:
            return fault(400, "4001", "Invalid query", "QueryValidationError: MAXRESULTS > 1000")
        rows = sorted(
            self.rows[match["entity"]].values(), key=lambda r: (r["_updated"], int(r["Id"]))
        )
        for condition in re.split(r"\s+AND\s+", match["where"] or "", flags=re.IGNORECASE):
            since = re.match(r"MetaData\.LastUpdatedTime\s*(>=|>)\s*'([^']+)'", condition.strip())
            if since:
                mark = dt.datetime.fromisoformat(since[2].replace("Z", "+00:00"))
                strictly = since[1] == ">"
                rows = [
                    r
                    for r in rows
                    if r["_updated"] > mark or (not strictly and r["_updated"] == mark)
                ]
        if match["what"].upper().startswith("COUNT"):
            return json_response(
                200, {"QueryResponse": {"totalCount": len(rows)}, "time": _ts(_now())}
            )
        start = int(match["start"] or 1)
        page = rows[start - 1 : start - 1 + maximum]
        response: dict[str, Any] = {}
        if page:
            response = {
                match["entity"]: [self._public(r) for r in page],
                "startPosition": start,
                "maxResults": len(page),
            }
        return json_response(200, {"QueryResponse": response, "time": _ts(_now())})

    def _cdc(self, query: dict[str, str]) -> Response:
        since = dt.datetime.fromisoformat(query["changedSince"].replace("Z", "+00:00"))
        if since < _now() - dt.timedelta(days=30):
            return fault(
                400, "4001", "Invalid changedSince", "changedSince is more than 30 days ago"
            )
        responses = []
        for entity in query.get("entities", "").split(","):
            changed = [
                self._public(r)
                for r in self.rows.get(entity, {}).values()
                if r["_updated"] >= since
            ]
            changed += [
                {
                    "Id": i,
                    "status": "Deleted",
                    "domain": "QBO",
                    "MetaData": {"LastUpdatedTime": _ts(when)},
                }
                for e, i, when in self.deleted
                if e == entity and when >= since
            ]
            if changed:
                responses.append({entity: changed, "startPosition": 1, "maxResults": len(changed)})
        return json_response(
            200, {"CDCResponse": [{"QueryResponse": responses or [{}]}], "time": _ts(_now())}
        )


def main() -> None:  # pragma: no cover - manual walk-through
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--customers", type=int, default=5)
    parser.add_argument("--invoices", type=int, default=40)
    args = parser.parse_args()
    fake = FakeQuickBooks()
    populate_quickbooks(fake, customers=args.customers, invoices=args.invoices)
    fake.start(args.port)
    print(f"fake QuickBooks on {fake.url}  realm {fake.realm}")
    print(f"client id {fake.oauth.client_id}  secret {fake.oauth.client_secret}")
    print(f"refresh token {fake.oauth.refresh_token}")
    while True:
        time.sleep(3600)


def populate_quickbooks(
    fake: FakeQuickBooks, *, customers: int, invoices: int, lines: int = 2
) -> None:
    """Deterministic book: every third invoice fully paid, every fifth half paid, and one
    payment spread over two invoices."""
    ids = [
        fake.add_customer(f"Customer {n:04d}", email=f"ap{n}@example.test")
        for n in range(customers)
    ]
    invoice_ids = []
    for n in range(invoices):
        day = 1 + n % 28
        items = [
            (f"Service {k}", 1 + (n + k) % 5, f"{50 + (n * 7 + k * 13) % 400}.25")
            for k in range(lines)
        ]
        iid = fake.add_invoice(
            ids[n % customers],
            number=f"QB-{n + 1:05d}",
            lines=items,
            txn_date=f"2026-09-{day:02d}",
            due_date=f"2026-10-{day:02d}",
        )
        invoice_ids.append(iid)
    for n, iid in enumerate(invoice_ids):
        row = fake.rows["Invoice"][iid]
        total = row["TotalAmt"]
        customer = row["CustomerRef"]["value"]
        if n % 3 == 0:
            fake.add_payment(customer, [(iid, str(total))])
        elif n % 5 == 0:
            fake.add_payment(customer, [(iid, str((total / 2).quantize(Decimal("0.01"))))])
    # One payment spread over two open invoices of the same customer.
    by_customer: dict[str, list[str]] = {}
    for iid in invoice_ids:
        row = fake.rows["Invoice"][iid]
        if row["Balance"] == row["TotalAmt"]:
            by_customer.setdefault(row["CustomerRef"]["value"], []).append(iid)
    pairs = [(c, ids_) for c, ids_ in by_customer.items() if len(ids_) >= 2]
    if pairs:
        customer, (first, second, *_) = pairs[0]
        fake.add_payment(customer, [(first, "10.00"), (second, "20.00")], ref="SPLIT-1")


if __name__ == "__main__":  # pragma: no cover
    main()
