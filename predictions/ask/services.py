"""Ask PayPredict: a question in, a sentence, a table, a chart hint and the SQL out.

Two paths reach the same gate. With an LLM configured it writes the SQL from the views'
documentation (a database error is fed back once for a corrected query); without one, or when
it fails, the built-in parser answers the common question shapes. Either way the SQL passes
``safe_select`` and runs through the organization's read-only login, and the sentence is
written from the rows that came back, never from the model's own numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from invoices.analytics import organization_today
from invoices.models import Customer
from ml.llm import NOT_CONFIGURED, llm_is_configured, llm_structured
from paypredict_project.readonly import ReadOnlyQueryError, readonly_query
from paypredict_project.tenancy.models import Organization
from predictions.ask import parser
from predictions.ask.catalog import catalog_prompt
from predictions.ask.conversation import (
    Conversation,
    Turn,
    conversation_add_turn,
    conversation_get_or_start,
)
from predictions.ask.periods import Period
from predictions.ask.sqlsafety import UnsafeQuery, safe_select

logger = logging.getLogger(__name__)

MAX_QUESTION_LENGTH = 500
PAGE_ROWS = 100
API_ROWS = 1000
EXPORT_ROWS = 100_000
TIMEOUT_MS = 5000


class AskInputError(ValueError):
    """The question itself is unusable (empty, too long); the message names the problem."""


@dataclass
class AskAnswer:
    question: str
    answer: str
    path: str  # "llm", "parser" or "none" (not understood / refused)
    conversation: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    truncated: bool = False
    sql: str = ""
    chart: dict[str, str] | None = None
    refused: str = ""  # why a query was refused or failed, shown to the user
    fallback_reason: str = ""  # why the LLM path was not used
    suggestions: list[str] = field(default_factory=list)
    turn: int = 0  # this answer's place in the conversation (for its CSV download)
    # The parser shape and parameters, remembered so a follow-up can reuse them.
    shape: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def json_rows(self) -> list[list[Any]]:
        return [[_jsonable(value) for value in row] for row in self.rows]


class SqlProposal(BaseModel):
    sql: str = Field(description="one PostgreSQL SELECT over the listed views only")
    explanation: str = Field(description="what the query returns, in one short sentence")


def ask_question(
    *,
    organization: Organization,
    user_id: int,
    question: str,
    conversation_id: str | None = None,
    max_rows: int = API_ROWS,
) -> AskAnswer:
    question = _clean(question)
    conversation = conversation_get_or_start(
        organization_id=organization.id, user_id=user_id, conversation_id=conversation_id
    )
    llm_answer, fallback_reason = None, NOT_CONFIGURED
    if llm_is_configured():
        llm_answer, fallback_reason = _llm_answer(organization, conversation, question, max_rows)
    if llm_answer is not None and not llm_answer.refused:
        answer = llm_answer
    else:
        answer = _parser_answer(organization, conversation, question, max_rows)
        if llm_answer is not None:  # the LLM's query was refused: say so beside any answer
            answer = answer if answer.path == "parser" else llm_answer
            answer.refused = llm_answer.refused
        answer.fallback_reason = fallback_reason
    conversation_add_turn(
        conversation,
        Turn(
            question=question,
            sql=answer.sql,
            path=answer.path,
            answer=answer.answer,
            shape=answer.shape,
            params=answer.params,
        ),
    )
    answer.turn = len(conversation.turns) - 1
    return answer


def ask_rerun(
    *, organization: Organization, user_id: int, conversation_id: str, turn: int
) -> tuple[list[str], list[list[Any]]]:
    """All rows (up to EXPORT_ROWS) of an earlier answer, for its CSV download."""
    conversation = conversation_get_or_start(
        organization_id=organization.id, user_id=user_id, conversation_id=conversation_id
    )
    if not 0 <= turn < len(conversation.turns) or not conversation.turns[turn].sql:
        raise AskInputError("no such answer in this conversation (it may have expired)")
    columns, rows, _ = _run(organization, conversation.turns[turn].sql, EXPORT_ROWS)
    return columns, [[_jsonable(value) for value in row] for row in rows]


def _clean(question: str) -> str:
    question = " ".join((question or "").split())
    if not question:
        raise AskInputError("question: ask something, for example 'what is our DSO'")
    if len(question) > MAX_QUESTION_LENGTH:
        raise AskInputError(f"question: at most {MAX_QUESTION_LENGTH} characters")
    return question


# ---------------------------------------------------------------- the parser path


def _parser_answer(
    organization: Organization, conversation: Conversation, question: str, max_rows: int
) -> AskAnswer:
    last = conversation.last
    previous = (last.shape, _params_from_dict(last.params)) if last and last.shape else None
    today = organization_today(organization=organization)
    names = _customer_names(organization)
    parsed = parser.parse_question(question, today=today, customer_names=names, previous=previous)
    if parsed is None:
        params = parser.read_params(question.lower(), today=today, customer_names=names)
        return _not_understood(question, conversation, params.ambiguous_customers)
    query = parsed.query
    answer = _answer_from_sql(organization, question, conversation, query.sql, max_rows, "parser")
    if not answer.refused:
        answer.answer = parsed.describe(answer.columns, answer.rows)
        answer.chart = query.chart if len(answer.rows) > 1 else None
    answer.shape = parsed.shape.name
    answer.params = _params_to_dict(parsed.params)
    return answer


def _not_understood(
    question: str, conversation: Conversation, ambiguous_customers: tuple[str, ...]
) -> AskAnswer:
    if ambiguous_customers:
        shown = ", ".join(ambiguous_customers[:5])
        text = f"Several customers match that name ({shown}). Which one do you mean?"
    else:
        text = (
            "I can't answer that one yet. Try one of the questions below, or name a "
            "period, currency, customer or payment method."
        )
    return AskAnswer(
        question=question,
        answer=text,
        path="none",
        conversation=conversation.id,
        suggestions=parser.suggested_questions(),
    )


def _customer_names(organization: Organization) -> list[str]:
    return list(Customer.objects.filter(organization=organization).values_list("name", flat=True))


def _params_to_dict(params: parser.Params) -> dict[str, Any]:
    data = asdict(params)
    data["threshold"] = str(params.threshold) if params.threshold is not None else None
    data["today"] = params.today.isoformat()
    if params.period is not None:
        data["period"] = {
            "start": params.period.start.isoformat(),
            "end": params.period.end.isoformat(),
            "label": params.period.label,
        }
    return data


def _params_from_dict(data: dict[str, Any]) -> parser.Params:
    period = data.get("period")
    return parser.Params(
        period=Period(
            dt.date.fromisoformat(period["start"]),
            dt.date.fromisoformat(period["end"]),
            period["label"],
        )
        if period
        else None,
        currency=data.get("currency"),
        method=data.get("method"),
        customer=data.get("customer"),
        threshold=Decimal(data["threshold"]) if data.get("threshold") else None,
        top_n=data.get("top_n", 10),
        compare=data.get("compare", False),
        today=dt.date.fromisoformat(data["today"]),
    )


# ---------------------------------------------------------------- the LLM path

_SYSTEM = (
    "You translate finance questions into one PostgreSQL SELECT query over the views listed. "
    "Use only those views and their columns; never other tables, never more than one "
    "statement, never writes. Money columns are per currency: group by currency instead of "
    "adding different currencies. Answer with the SQL and a one-sentence explanation."
)


def _llm_answer(
    organization: Organization, conversation: Conversation, question: str, max_rows: int
) -> tuple[AskAnswer | None, str]:
    prompt = _llm_prompt(organization, conversation, question)
    outcome = llm_structured(schema=SqlProposal, system=_SYSTEM, prompt=prompt)
    if outcome.value is None:
        return None, outcome.fallback_reason
    proposal = outcome.value
    answer = _answer_from_sql(organization, question, conversation, proposal.sql, max_rows, "llm")
    if answer.refused and answer.sql:  # it ran and the database refused: one correction
        retry = llm_structured(
            schema=SqlProposal,
            system=_SYSTEM,
            prompt=f"{prompt}\n\nYour query\n{proposal.sql}\nfailed with: {answer.refused}\n"
            "Write a corrected query.",
        )
        if retry.value is None:
            return None, retry.fallback_reason
        proposal = retry.value
        answer = _answer_from_sql(
            organization, question, conversation, proposal.sql, max_rows, "llm"
        )
    if answer.refused:
        answer.path = "none"
        return answer, f"refused: {answer.refused}"
    answer.answer = _sentence_from_rows(answer.columns, answer.rows, proposal.explanation)
    return answer, ""


def _llm_prompt(organization: Organization, conversation: Conversation, question: str) -> str:
    today = organization_today(organization=organization)
    history = "\n".join(
        f"Earlier question: {turn.question}\nEarlier SQL: {turn.sql}"
        for turn in conversation.turns[-3:]
        if turn.sql
    )
    return (
        f"{catalog_prompt()}\n\nToday is {today.isoformat()} in the organization's time zone; "
        f"its base currency is {organization.base_currency}.\n"
        f"{history}\nQuestion: {question}"
    )


def _sentence_from_rows(columns: list[str], rows: list[list[Any]], explanation: str) -> str:
    # The model's explanation is kept only when it states no number of its own.
    lead = explanation.strip().rstrip(".") if not re.search(r"\d", explanation) else ""
    if not rows:
        body = "no rows matched"
    elif len(rows) == 1 and len(columns) <= 4:
        pairs = zip(columns, rows[0], strict=True)
        body = ", ".join(f"{name}: {_display(value)}" for name, value in pairs)
    else:
        body = f"{len(rows)} rows ({', '.join(columns)})"
    return f"{lead}: {body}." if lead else f"{body[0].upper()}{body[1:]}."


# ---------------------------------------------------------------- running SQL


def _answer_from_sql(
    organization: Organization,
    question: str,
    conversation: Conversation,
    sql: str,
    max_rows: int,
    path: str,
) -> AskAnswer:
    answer = AskAnswer(question=question, answer="", path=path, conversation=conversation.id)
    try:
        answer.sql = safe_select(sql)
    except UnsafeQuery as error:
        answer.refused = f"query refused: {error}"
        answer.answer = f"That query was refused: {error}."
        return answer
    try:
        answer.columns, answer.rows, answer.truncated = _run(organization, answer.sql, max_rows)
    except ReadOnlyQueryError as error:
        answer.refused = f"the database refused the query: {error}"
        answer.answer = f"The query could not be run: {error}."
    return answer


def _run(organization: Organization, sql: str, max_rows: int):
    # Capped in the database too, so a huge result is never computed in full.
    capped = f"SELECT * FROM ({sql}) AS answer LIMIT {max_rows + 1}"
    result = readonly_query(
        organization=organization, query=capped, max_rows=max_rows, timeout_ms=TIMEOUT_MS
    )
    return result.columns, [list(row) for row in result.rows], result.truncated


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _display(value: Any) -> str:
    return "none" if value is None else str(value)
