"""Which of our own outgoing mails a customer's e-mail replies to, without the receiver naming
the sender.

The disputes app receives mail (its inbound webhook) but may not import reminders, which sends
it. An app that sends mail registers a resolver here from ``AppConfig.ready()``; the receiving
side asks every resolver about the Message-IDs the reply quotes (``In-Reply-To`` first, then
``References`` newest first) and takes the first answer.

``resolver(*, organization_id, message_ids) -> MailThread | None``, scoped to the organization.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class MailThread:
    kind: str  # "reminder"
    code: str  # the public UUID of our mail's record
    customer_id: int | None
    invoice_ids: list[int] = field(default_factory=list)  # the invoices that mail was about


Resolver = Callable[..., MailThread | None]

_resolvers: dict[str, Resolver] = {}


def register_resolver(kind: str, resolver: Resolver) -> None:
    _resolvers[kind] = resolver


def referenced_message_ids(*, in_reply_to: str = "", references: str = "") -> list[str]:
    """The Message-IDs a reply quotes, most specific first, each once, with angle brackets."""
    ids = MESSAGE_ID.findall(in_reply_to or "") + MESSAGE_ID.findall(references or "")[::-1]
    return list(dict.fromkeys(ids))


def resolve(*, organization_id: int, message_ids: list[str]) -> MailThread | None:
    if not message_ids:
        return None
    for resolver in _resolvers.values():
        thread = resolver(organization_id=organization_id, message_ids=message_ids)
        if thread is not None:
            return thread
    return None
