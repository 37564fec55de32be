"""The live feed page and its SSE stream (docs/events.md, "The live feed")."""

from __future__ import annotations

import logging

import redis
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from paypredict_project.events.feed import (
    BadEventId,
    event_stream,
    feed_item,
    feed_recent,
    parse_stream_id,
)
from paypredict_project.tenancy.decorators import require_org_permission
from paypredict_project.tenancy.models import Membership

logger = logging.getLogger(__name__)

FEED_PERMISSION = "read:invoices"


def feed_context(*, organization, limit: int) -> dict:
    """What the feed page and the home panel render: the latest events, newest first."""
    try:
        events = feed_recent(organization=organization, limit=limit)
    except redis.RedisError:
        # The page still renders without its history; the stream reconnects once Redis is back.
        logger.warning("live feed: Redis unavailable, rendering without recent events")
        events = []
    tz = organization.tzinfo
    return {
        "feed_items": [feed_item(event, tz=tz) for event in events],
        "feed_after": events[0].stream_id if events else "0-0",
    }


@require_GET
@require_org_permission(FEED_PERMISSION)
def feed_page(request: HttpRequest) -> HttpResponse:
    context = feed_context(organization=request.organization, limit=50)
    return render(request, "events/feed.html", {**context, "feed_compact": False})


@require_GET
@require_org_permission(FEED_PERMISSION)
def feed_stream(request: HttpRequest) -> HttpResponse:
    """text/event-stream of the member's current organization; resumes after Last-Event-ID.

    The browser sends Last-Event-ID itself when it reconnects; the page passes ``after`` (the
    newest event it rendered) on its first connection so nothing falls between the two.
    """
    try:
        after = parse_stream_id(
            request.headers.get("Last-Event-ID") or request.GET.get("after") or None
        )
    except BadEventId as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    organization = request.organization
    user_id = request.user.pk

    async def still_member() -> bool:
        return await Membership.objects.filter(
            user_id=user_id, organization_id=organization.pk, user__is_active=True
        ).aexists()

    response = StreamingHttpResponse(
        event_stream(
            organization_code=str(organization.code),
            tz=organization.tzinfo,
            after=after,
            still_member=still_member,
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a reverse proxy must not buffer the stream
    return response
