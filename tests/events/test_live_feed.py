"""The live feed over real ASGI (uvicorn on a free port), real Redis and real PostgreSQL:
scoping per organization, a removed member cut off, Last-Event-ID catch-up and the gap notice."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from django.test import Client

from paypredict_project.asgi import application
from paypredict_project.events.relay import relay_publish_batch
from paypredict_project.events.services import event_record
from paypredict_project.events.streams import redis_client, stream_key
from paypredict_project.tenancy.middleware import SESSION_KEY
from paypredict_project.tenancy.models import Membership, Role
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    MembershipFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_feed(settings):
    settings.LIVE_FEED_HEARTBEAT_SECONDS = 0.5
    settings.LIVE_FEED_MEMBERSHIP_CHECK_SECONDS = 0.3


@pytest.fixture
def asgi_url() -> Iterator[str]:
    """The project's ASGI application served by uvicorn, as `make run` serves it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _session_cookie(user, organization=None) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    if organization is not None:
        session = client.session
        session[SESSION_KEY] = str(organization.code)
        session.save()
    return {"sessionid": client.cookies["sessionid"].value}


@dataclass
class Sse:
    """A parsed server-sent event (comments kept as type ``comment``)."""

    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.data)


class FeedReader:
    def __init__(self, response: httpx.Response):
        self.response = response
        self.lines = response.iter_lines()
        self.closed = False

    def next(self, timeout: float = 5.0) -> Sse | None:
        """The next event or comment; None when the server closed the stream."""
        current = Sse()
        has_field = False
        deadline = time.monotonic() + timeout
        for line in self.lines:
            assert time.monotonic() < deadline, "no complete event in time"
            if line == "":
                if has_field:
                    return current
                continue
            has_field = True
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                current.event = "comment"
                current.data.append(value)
            elif name == "event":
                current.event = value
            elif name == "id":
                current.id = value
            elif name == "data":
                current.data.append(value)
        self.closed = True
        return None

    def feed_events(self, count: int, timeout: float = 8.0) -> list[Sse]:
        """The next ``count`` feed/gap events, skipping heartbeats."""
        found: list[Sse] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            assert time.monotonic() < deadline, f"only {len(found)} of {count} events arrived"
            sse = self.next()
            assert sse is not None, f"stream closed after {len(found)} of {count} events"
            if sse.event in ("feed", "gap", "revoked"):
                found.append(sse)
        return found

    def idle_for(self, seconds: float) -> list[Sse]:
        """Everything but heartbeats that arrives within ``seconds`` (heartbeats pace it)."""
        found: list[Sse] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sse = self.next()
            if sse is None:
                break
            if sse.event != "comment":
                found.append(sse)
        return found


def _open(url: str, cookies: dict[str, str], headers: dict[str, str] | None = None):
    client = httpx.Client(base_url=url, cookies=cookies, timeout=httpx.Timeout(10.0))
    return client, client.stream("GET", "/live/stream", headers=headers or {})


def _publish(organization, number: str, kind: str = "import.finished") -> None:
    event_record(
        organization=organization,
        type=kind,
        entity_id="invoices",
        payload={"kind": "invoices", "created": 1, "updated": 0, "file": f"{number}.csv"},
    )
    while relay_publish_batch():
        pass


def _dispute(organization, number: str) -> None:
    event_record(
        organization=organization,
        type="dispute.opened",
        entity_id=number,
        payload={
            "code": number,
            "invoice": number,
            "customer": {"code": "c1", "name": f"Customer of {organization.name}"},
            "amount": "120.00",
            "currency": "EUR",
        },
    )
    while relay_publish_batch():
        pass


def test_an_organization_never_receives_another_organizations_events(asgi_url):
    org_a = OrganizationFactory(name="Feed A")
    org_b = OrganizationFactory(name="Feed B")
    alice = MembershipFactory(organization=org_a, role=Role.VIEWER).user
    bob = MembershipFactory(organization=org_b, role=Role.ADMIN).user
    # A member of both organizations sees only the one currently chosen.
    both = MembershipFactory(organization=org_a, role=Role.VIEWER).user
    MembershipFactory(user=both, organization=org_b, role=Role.VIEWER)

    client_a, stream_a = _open(asgi_url, _session_cookie(alice))
    client_b, stream_b = _open(asgi_url, _session_cookie(bob))
    client_ab, stream_ab = _open(asgi_url, _session_cookie(both, organization=org_b))
    with client_a, client_b, client_ab, stream_a as a, stream_b as b, stream_ab as ab:
        assert a.status_code == 200 and a.headers["content-type"].startswith("text/event-stream")
        readers = {"a": FeedReader(a), "b": FeedReader(b), "ab": FeedReader(ab)}
        for reader in readers.values():  # connected: the retry hint arrives first
            assert reader.next().event == "message"
        for n in range(3):
            _dispute(org_a, f"A-{n}")
            _dispute(org_b, f"B-{n}")
        got_a = readers["a"].feed_events(3)
        got_b = readers["b"].feed_events(3)
        got_ab = readers["ab"].feed_events(3)
        assert [("Feed A" in e.text, f"A-{n}" in e.text) for n, e in enumerate(got_a)] == [
            (True, True)
        ] * 3
        assert all("Feed B" in e.text and "Feed A" not in e.text for e in got_b)
        assert all("Feed B" in e.text for e in got_ab)
        # Nothing else comes: B's events never reach A's connection and vice versa.
        assert readers["a"].idle_for(1.2) == []
        assert readers["b"].idle_for(0.6) == []
        assert 'class="feed-item kind-dispute alert"' in got_a[0].text


def test_a_member_removed_from_the_organization_stops_receiving(asgi_url):
    org = OrganizationFactory(name="Feed Removal")
    membership = MembershipFactory(organization=org, role=Role.COLLECTOR)
    cookies = _session_cookie(membership.user)
    client, stream = _open(asgi_url, cookies)
    with client, stream as response:
        reader = FeedReader(response)
        assert reader.next().event == "message"  # connected, position fixed
        _dispute(org, "R-1")
        assert "R-1" in reader.feed_events(1)[0].text
        Membership.objects.filter(pk=membership.pk).delete()
        _dispute(org, "R-2")  # may race the check; the stream must end within a check period
        rest = reader.idle_for(3)
        assert rest and rest[-1].event == "revoked"
        assert reader.closed, "the stream must end after the membership is gone"
        _dispute(org, "R-3")
        assert all("R-3" not in e.text for e in rest)
    # Reconnecting is refused: no organization any more.
    with httpx.Client(base_url=asgi_url, cookies=cookies) as again:
        assert again.get("/live/stream").status_code == 403


def test_last_event_id_catches_up_and_a_trimmed_window_sends_a_gap_notice(asgi_url):
    org = OrganizationFactory(name="Feed Catch-up")
    user = MembershipFactory(organization=org, role=Role.VIEWER).user
    cookies = _session_cookie(user)
    for n in range(5):
        _publish(org, f"file-{n}")
    ids = [sid for sid, _ in redis_client().xrange(stream_key(org.code))]
    assert len(ids) == 5

    client, stream = _open(asgi_url, cookies, {"Last-Event-ID": ids[1]})
    with client, stream as response:
        reader = FeedReader(response)
        caught = reader.feed_events(3)
        assert [e.id for e in caught] == ids[2:]
        assert [e.event for e in caught] == ["feed"] * 3
        assert "file-2.csv" not in caught[0].text  # the file name is not shown, the count is
        assert "CSV import of invoices finished: 1 created" in caught[0].text
        _publish(org, "file-5")  # then live, after the catch-up
        live = reader.feed_events(1)[0]
        assert live.id > ids[-1]

    # Retention dropped the two oldest events: resuming after the first one missed one.
    redis_client().xtrim(stream_key(org.code), maxlen=4, approximate=False)
    client, stream = _open(asgi_url, cookies, {"Last-Event-ID": ids[0]})
    with client, stream as response:
        reader = FeedReader(response)
        first, *caught = reader.feed_events(5)
        assert first.event == "gap" and "missed" in first.text
        assert [e.id for e in caught] == [*ids[2:], live.id]

    # Resuming after an id that is still kept: no gap notice.
    client, stream = _open(asgi_url, cookies, {"Last-Event-ID": ids[3]})
    with client, stream as response:
        assert [e.id for e in FeedReader(response).feed_events(2)] == [ids[4], live.id]

    with httpx.Client(base_url=asgi_url, cookies=cookies) as plain:
        bad = plain.get("/live/stream", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 400 and "not a stream id" in bad.text


def test_heartbeats_keep_an_idle_stream_alive_and_anonymous_users_get_no_stream(asgi_url):
    org = OrganizationFactory(name="Feed Idle")
    user = MembershipFactory(organization=org, role=Role.VIEWER).user
    client, stream = _open(asgi_url, _session_cookie(user))
    with client, stream as response:
        reader = FeedReader(response)
        assert reader.next().event == "message"
        beat = reader.next(timeout=2)
        assert beat.event == "comment" and beat.text == "heartbeat"
    with httpx.Client(base_url=asgi_url) as anonymous:
        response = anonymous.get("/live/stream")
        assert response.status_code == 302 and "/login" in response.headers["location"]


def test_feed_page_and_home_panel_render_recent_events_coloured_by_kind(client):
    org = OrganizationFactory(name="Feed Page")
    user = MembershipFactory(organization=org, role=Role.VIEWER).user
    outsider_org = OrganizationFactory(name="Elsewhere")
    InvoiceFactory(customer=CustomerFactory(organization=org))  # the home shows its KPIs
    _dispute(org, "P-1")
    _publish(org, "page")
    _dispute(outsider_org, "X-9")
    client.force_login(user)
    page = client.get("/feed/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index("CSV import of invoices") < html.index("Dispute opened on invoice P-1")
    assert 'class="feed-item kind-dispute alert"' in html and "kind-import" in html
    assert "X-9" not in html
    newest = redis_client().xrevrange(stream_key(org.code), count=1)[0][0]
    assert f'data-after="{newest}"' in html and "js/feed.js" in html
    home = client.get("/").content.decode()
    assert "data-live-feed" in home and "P-1" in home and 'data-max-items="8"' in home
