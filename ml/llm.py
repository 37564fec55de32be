"""The one LLM client of PayPredict: structured answers from any OpenAI-compatible endpoint.

Disputes (suggested replies), reminders (drafts) and Ask (SQL) all call ``llm_structured``. It
never raises for a fault of the model or its endpoint: every failure becomes an ``LLMOutcome``
with ``value=None`` and a ``fallback_reason`` the caller records beside its offline answer, so
a feature works the same with no LLM configured, a slow one, or one that answers nonsense.

The LLM is optional: ``llm_is_configured()`` is true only with OPENAI_API_KEY and OPENAI_MODEL
set (OPENAI_BASE_URL points at any compatible server; empty means OpenAI itself).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import openai
from django.conf import settings
from pydantic import BaseModel, ValidationError

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# What a caller records when it falls back (prefixes; details follow a colon).
NOT_CONFIGURED = "not_configured"
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
CONNECTION_ERROR = "connection_error"
MALFORMED_OUTPUT = "malformed_output"
INVALID = "invalid"

_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class LLMOutcome(Generic[T]):
    """A validated answer (``value``) or the reason there is none (``fallback_reason``)."""

    value: T | None
    fallback_reason: str
    model: str
    latency_ms: int

    @property
    def used(self) -> bool:
        return self.value is not None


def llm_is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY and settings.OPENAI_MODEL)


def llm_structured(
    *,
    schema: type[T],
    system: str,
    prompt: str,
    validate: Callable[[T], list[str]] | None = None,
    timeout_s: float | None = None,
) -> LLMOutcome[T]:
    """Ask the configured model for an instance of ``schema``.

    ``validate`` checks the parsed answer against the facts the caller holds (amounts, invoice
    numbers, SQL rules) and returns the problems found; any problem rejects the answer.
    """
    model_name = settings.OPENAI_MODEL or ""
    if not llm_is_configured():
        return LLMOutcome(None, NOT_CONFIGURED, model_name, 0)
    started = time.monotonic()
    value, reason = _ask(schema=schema, system=system, prompt=prompt, timeout_s=timeout_s)
    if value is not None and validate is not None:
        problems = validate(value)
        if problems:
            value, reason = None, _reason(INVALID, "; ".join(problems))
    latency_ms = int((time.monotonic() - started) * 1000)
    if reason:
        logger.info("LLM answer not used (%s, %d ms): %s", model_name, latency_ms, reason)
    return LLMOutcome(value, reason, model_name, latency_ms)


def _ask(
    *, schema: type[T], system: str, prompt: str, timeout_s: float | None
) -> tuple[T | None, str]:
    chain = _chat_model(timeout_s).with_structured_output(
        schema, method=settings.OPENAI_STRUCTURED_METHOD, include_raw=True
    )
    try:
        result: dict[str, Any] = chain.invoke([("system", system), ("human", prompt)])
    except (openai.APITimeoutError, httpx.TimeoutException):
        return None, TIMEOUT
    except openai.APIStatusError as error:
        return None, _reason(HTTP_ERROR, f"{error.status_code} {_error_text(error)}")
    except (openai.APIConnectionError, httpx.HTTPError) as error:
        return None, _reason(CONNECTION_ERROR, str(error))
    except (ValueError, ValidationError, openai.OpenAIError) as error:
        # The SDK's own JSON decoding of a broken body lands here.
        return None, _reason(MALFORMED_OUTPUT, str(error))
    parsed = result.get("parsed")
    if result.get("parsing_error") is not None or not isinstance(parsed, schema):
        detail = result.get("parsing_error") or "the answer held no structured output"
        return None, _reason(MALFORMED_OUTPUT, str(detail))
    return parsed, ""


def _chat_model(timeout_s: float | None):
    # Imported here: langchain is a heavy import that most processes (and the ml pipeline's
    # pure code) never need.
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.OPENAI_MODEL,
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=timeout_s if timeout_s is not None else settings.OPENAI_TIMEOUT_S,
        # A retry doubles the wait of a user who already has the offline answer ready.
        max_retries=0,
        temperature=0,
    )


def _error_text(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)
    return error.message


def _reason(kind: str, detail: str) -> str:
    detail = " ".join(detail.split())
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 1] + "…"
    return f"{kind}: {detail}"
