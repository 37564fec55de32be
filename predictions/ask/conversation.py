"""Conversation memory for Ask, kept in Redis (the Django cache) so it survives a reconnect
or another web worker, and expires on its own."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.cache import cache

TTL_SECONDS = 24 * 3600
MAX_TURNS = 20


@dataclass
class Turn:
    question: str
    sql: str
    path: str
    answer: str
    shape: str = ""  # the parser shape, so "and in EUR?" can reuse it
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    id: str
    organization_id: int
    user_id: int
    turns: list[Turn]

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


def conversation_get_or_start(
    *, organization_id: int, user_id: int, conversation_id: str | None
) -> Conversation:
    """The caller's conversation, or a new one when the id is unknown, expired or not theirs."""
    if conversation_id:
        stored = cache.get(_key(organization_id, conversation_id))
        if stored and stored["user_id"] == user_id:
            turns = [Turn(**turn) for turn in stored["turns"]]
            return Conversation(conversation_id, organization_id, user_id, turns)
    return Conversation(uuid.uuid4().hex, organization_id, user_id, [])


def conversation_add_turn(conversation: Conversation, turn: Turn) -> None:
    conversation.turns = [*conversation.turns, turn][-MAX_TURNS:]
    payload = {"user_id": conversation.user_id, "turns": [asdict(t) for t in conversation.turns]}
    cache.set(_key(conversation.organization_id, conversation.id), payload, TTL_SECONDS)


def _key(organization_id: int, conversation_id: str) -> str:
    return f"ask:conversation:{organization_id}:{conversation_id}"
