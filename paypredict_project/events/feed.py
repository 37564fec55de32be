"""The live feed: an organization's event stream as server-sent events (docs/events.md).

The feed reads exactly one Redis stream, the member's current organization's, so scoping is
structural. A connection resumes after ``Last-Event-ID`` (catch-up from the stream; if
retention already trimmed events after that id the client gets a ``gap`` notice), sends a
comment as heartbeat while idle, and re-checks the membership every few seconds: a member
removed from the organization gets a ``revoked`` event and the stream ends.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.template.loader import render_to_string

from paypredict_project.events.streams import StreamEvent, entry_event, redis_client, stream_key

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# Entries read per XRANGE/XREAD call: a catch-up of the whole window is a few round trips.
CHUNK = 200
RECENT_DEFAULT = 25
# Kinds with a colour in app.css; any other kind gets the neutral one.
KINDS = {
    "invoice",
    "payment",
    "dispute",
    "prediction",
    "reminder",
    "settlement",
    "sync",
    "import",
}
# Types that need someone's attention, whatever their kind: shown with the alert tone.
ALERT_TYPES = {"payment.failed", "payment.flagged", "dispute.opened", "prediction.risk_changed"}


class BadEventId(ValueError):
    """A Last-Event-ID that is not a stream id (``<ms>-<seq>``)."""


def parse_stream_id(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not STREAM_ID.match(value):
        raise BadEventId(f"Last-Event-ID {value!r} is not a stream id like 1764790000123-0")
    return value


def _id_tuple(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


def heartbeat_seconds() -> float:
    return float(getattr(settings, "LIVE_FEED_HEARTBEAT_SECONDS", 15))


def membership_check_seconds() -> float:
    return float(getattr(settings, "LIVE_FEED_MEMBERSHIP_CHECK_SECONDS", 10))


# ---------------------------------------------------------------- describing an event
def _who(payload: dict[str, Any]) -> str:
    customer = payload.get("customer") or {}
    return customer.get("name") or "a customer"


def _money(amount: Any, currency: Any) -> str:
    return f"{amount} {currency}" if amount not in (None, "") else ""


def describe(event: StreamEvent) -> str:
    """One plain sentence a controller reads at a glance."""
    p = event.payload
    t = event.type
    number = p.get("number") or p.get("invoice") or ""
    if t == "invoice.created":
        total = _money(p.get("total"), p.get("currency"))
        return f"Invoice {number} created for {_who(p)}: {total}"
    if t == "invoice.updated":
        changed = ", ".join(p.get("changed") or []) or "details"
        return f"Invoice {number} of {_who(p)} updated ({changed})"
    if t == "invoice.paid":
        return f"Invoice {number} of {_who(p)} paid in full"
    if t == "invoice.voided":
        return f"Invoice {number} of {_who(p)} voided"
    amount = _money(p.get("amount"), p.get("currency"))
    if t == "payment.received":
        state = "recorded (pending)" if p.get("status") == "pending" else "received"
        return f"Payment of {amount} {state} from {_who(p)}"
    if t == "payment.failed":
        why = p.get("failure_reason") or p.get("failure_code") or "no reason given"
        return f"Payment of {amount} from {_who(p)} failed: {why}"
    if t == "payment.refunded":
        return f"Payment of {amount} from {_who(p)} refunded"
    if t == "payment.flagged":
        reasons = "; ".join(p.get("reasons") or []) or "unusual payment"
        return f"Payment of {amount} from {_who(p)} flagged: {reasons}"
    if t == "dispute.opened":
        return f"Dispute opened on invoice {number} by {_who(p)}: {amount}".rstrip(": ")
    if t == "dispute.resolved":
        return f"Dispute on invoice {number} of {_who(p)} {p.get('status') or 'resolved'}"
    if t == "prediction.risk_changed":
        before = p.get("from_level") or "none"
        return f"Invoice {number} of {_who(p)}: risk {before} → {p.get('to_level')}"
    if t == "reminder.sent":
        return f"Reminder sent to {_who(p)} by {p.get('channel')}"
    if t == "settlement.settled":
        return f"Settlement {p.get('reference') or ''} from {p.get('processor')} deposited: " + (
            _money(p.get("net"), p.get("currency"))
        )
    if t == "sync.finished":
        return (
            f"{str(p.get('provider', '')).title()} sync {p.get('status')}: "
            f"{p.get('created', 0)} created, {p.get('updated', 0)} updated"
        )
    if t == "import.finished":
        return (
            f"CSV import of {p.get('kind')} finished: "
            f"{p.get('created', 0)} created, {p.get('updated', 0)} updated"
        )
    return f"{t} {event.entity_id}"


def _local_time(occurred_at: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(occurred_at).astimezone(tz)
    except ValueError:
        return None


@dataclass(frozen=True)
class FeedItem:
    id: str
    type: str
    kind: str
    alert: bool
    text: str
    at: dt.datetime | None


def feed_item(event: StreamEvent, *, tz: zoneinfo.ZoneInfo) -> FeedItem:
    return FeedItem(
        id=event.stream_id,
        type=event.type,
        kind=event.kind if event.kind in KINDS else "other",
        alert=event.type in ALERT_TYPES,
        text=describe(event),
        at=_local_time(event.occurred_at, tz),
    )


def render_item(event: StreamEvent, *, tz: zoneinfo.ZoneInfo) -> str:
    return render_to_string("events/_feed_item.html", {"item": feed_item(event, tz=tz)})


# ---------------------------------------------------------------- reading (page render)
def feed_recent(*, organization, limit: int = RECENT_DEFAULT) -> list[StreamEvent]:
    """The organization's latest events, newest first (what the page shows on load)."""
    entries = redis_client().xrevrange(stream_key(organization.code), count=limit)
    return [entry_event(sid, fields) for sid, fields in entries]


# ---------------------------------------------------------------- the SSE stream
def sse(data: str, *, event: str | None = None, id: str | None = None) -> str:
    lines = []
    if id:
        lines.append(f"id: {id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


async def _gap(client: aioredis.Redis, key: str, after: str) -> bool:
    """True when retention trimmed events newer than ``after`` (the client may have missed some).

    Trimming (MAXLEN) does not move ``max-deleted-entry-id`` (only XDEL does), so a trimmed
    window shows as a first kept entry newer than ``after`` while entries were removed. The
    one false alarm: ``after`` was itself the last event trimmed; the notice says "may".
    """
    try:
        info = await client.xinfo_stream(key)
    except redis.ResponseError:  # no such stream: nothing was ever kept, nothing trimmed
        return False
    deleted = info.get("max-deleted-entry-id") or "0-0"
    if _id_tuple(deleted) > _id_tuple(after):
        return True
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
    return bool(first) and trimmed and _id_tuple(first[0]) > _id_tuple(after)


async def _latest_id(client: aioredis.Redis, key: str) -> str:
    newest = await client.xrevrange(key, count=1)
    return newest[0][0] if newest else "0-0"


def gap_notice() -> str:
    return render_to_string("events/_feed_gap.html", {})


async def event_stream(
    *,
    organization_code: str,
    tz: zoneinfo.ZoneInfo,
    after: str | None,
    still_member: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The SSE body: catch-up after ``after`` (or start at the stream's end), then live."""
    key = stream_key(organization_code)
    client = aioredis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    heartbeat = heartbeat_seconds()
    check_every = membership_check_seconds()
    try:
        # Without a position, start at the stream's end, fixed before the first byte is sent:
        # whatever is published after the client sees the response reaches it.
        last = after or await _latest_id(client, key)
        # Browsers reconnect after this many ms when the connection drops.
        yield f"retry: {int(getattr(settings, 'LIVE_FEED_RETRY_MS', 3000))}\n\n"
        if after is not None and await _gap(client, key, after):
            yield sse(gap_notice(), event="gap")
        next_check = time.monotonic() + check_every
        last_write = time.monotonic()
        block_ms = max(1, int(min(heartbeat, check_every) * 1000))
        while True:
            reply = await client.xread({key: last}, count=CHUNK, block=block_ms)
            entries = reply[0][1] if reply else []
            for sid, fields in entries:
                last = sid
                event = entry_event(sid, fields)
                yield sse(render_item(event, tz=tz), event="feed", id=sid)
                last_write = time.monotonic()
            if time.monotonic() - last_write >= heartbeat:
                # A comment line: keeps proxies from closing an idle connection.
                yield ": heartbeat\n\n"
                last_write = time.monotonic()
            if time.monotonic() >= next_check:
                if not await still_member():
                    yield sse("You are no longer a member of this organization.", event="revoked")
                    return
                next_check = time.monotonic() + check_every
    finally:
        await client.aclose()
