from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from invoices.analytics import organization_today
from paypredict_project.tenancy.commands import organization_from_option
from predictions.ask.services import EXPORT_ROWS, ask_question

EXAMPLE = "predictions/ask/data/eval_demo.json"


class Command(BaseCommand):
    help = (
        "Ask every question of FILE (JSON: {questions: [{question, reference, follow_up?}]}) "
        "and compare each answer with its reference query run on the ledger tables. "
        "Reference parameters: %(org)s, %(tz)s, %(today)s, %(week_start)s, %(next_week)s, "
        "%(week_after)s, %(month_start)s, %(next_month)s, %(prev_month)s, %(quarter_start)s, "
        "%(next_quarter)s, %(prev_quarter)s, %(year_start)s, %(next_year)s, %(prev_year)s. "
        f"Prints one JSON object on the last line. Example file: {EXAMPLE}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the questions with their reference queries (JSON)")
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, **options):
        organization = organization_from_option(options["org"])
        questions = _load(Path(options["file"]))
        params = calendar_params(organization)
        results, conversation = [], None
        for item in questions:
            if not item.get("follow_up"):
                conversation = None
            started = time.monotonic()
            answer = ask_question(
                organization=organization,
                user_id=0,
                question=item["question"],
                conversation_id=conversation,
                max_rows=EXPORT_ROWS,  # whole answers: the page shows 100, the CSV all
            )
            latency_ms = (time.monotonic() - started) * 1000
            conversation = answer.conversation
            exact = answer.path != "none" and not answer.refused and _matches(answer, item, params)
            results.append({"question": item["question"], "path": answer.path,
                            "exact": exact, "ms": latency_ms})  # fmt: skip
            if options["verbosity"] > 1:
                self.stdout.write(f"{'ok ' if exact else 'BAD'} [{answer.path}] {item['question']}")
        self.stdout.write(json.dumps(summary(results)))


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CommandError(f"{path}: no such file") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: not valid UTF-8 JSON ({error})") from error
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        raise CommandError(f"{path}: expected an object with a non-empty 'questions' list")
    for number, item in enumerate(questions, start=1):
        if not isinstance(item, dict) or not item.get("question") or not item.get("reference"):
            raise CommandError(f"{path}: question {number} needs 'question' and 'reference'")
    return questions


def calendar_params(organization) -> dict[str, Any]:
    today = organization_today(organization=organization)
    week_start = today - dt.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return {
        "org": organization.id,
        "tz": organization.time_zone,
        "today": today,
        "week_start": week_start,
        "next_week": week_start + dt.timedelta(days=7),
        "week_after": week_start + dt.timedelta(days=14),
        "month_start": month_start,
        "next_month": _months_after(month_start, 1),
        "prev_month": _months_after(month_start, -1),
        "quarter_start": quarter_start,
        "next_quarter": _months_after(quarter_start, 3),
        "prev_quarter": _months_after(quarter_start, -3),
        "year_start": dt.date(today.year, 1, 1),
        "next_year": dt.date(today.year + 1, 1, 1),
        "prev_year": dt.date(today.year - 1, 1, 1),
    }


def _months_after(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _matches(answer, item: dict[str, Any], params: dict[str, Any]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(item["reference"], params)
        columns = [column.name for column in cursor.description]
        expected = cursor.fetchall()
    if any(column not in answer.columns for column in columns):
        return False
    positions = [answer.columns.index(column) for column in columns]
    got = [tuple(row[index] for index in positions) for row in answer.rows]
    return _normalised(got) == _normalised(expected)


def _normalised(rows) -> list[tuple[str, ...]]:
    def value(item: Any) -> str:
        if isinstance(item, int | float | Decimal) and not isinstance(item, bool):
            return f"{Decimal(str(item)):.2f}"
        if isinstance(item, dt.date):
            return item.isoformat()
        return "" if item is None else str(item)

    return sorted(tuple(value(item) for item in row) for row in rows)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    def share(items):
        return round(sum(r["exact"] for r in items) / len(items), 3) if items else None

    by_path = {}
    for path in ("parser", "llm"):
        items = [r for r in results if r["path"] == path]
        by_path[path] = {"asked": len(items), "exact": sum(r["exact"] for r in items),
                         "accuracy": share(items)}  # fmt: skip
    return {
        "questions": len(results),
        "exact": sum(r["exact"] for r in results),
        "accuracy": share(results),
        "by_path": by_path,
        "refusals": sum(r["path"] == "none" for r in results),
        "median_latency_ms": round(statistics.median(r["ms"] for r in results), 1),
        "wrong": [r["question"] for r in results if not r["exact"]][:20],
    }
