"""Ask end to end on a small fixed ledger: answers checked against the numbers put in, the
API and page, follow-ups, and an LLM (a local OpenAI-compatible server) that answers well,
badly or with hostile SQL. These tests commit: queries run on a second, read-only login."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from invoices.models import PaymentStatus
from predictions.ask.services import ask_question
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger(org, other_org):
    today = timezone.now().replace(hour=0, minute=0, second=1, microsecond=0)
    acme = CustomerFactory(organization=org, name="Acme Ltd", currency="USD")
    globex = CustomerFactory(organization=org, name="Globex Corporation", currency="EUR")
    for amount in ("100.00", "250.00", "40.00"):
        PaymentFactory(customer=acme, amount=Decimal(amount), received_at=today)
    PaymentFactory(
        customer=acme,
        amount=Decimal("75.00"),
        received_at=today,
        status=PaymentStatus.FAILED,
        failure_reason="insufficient funds",
    )
    PaymentFactory(customer=globex, amount=Decimal("500.00"), received_at=today)
    InvoiceFactory(customer=acme, number="A-1", total=Decimal("1200.00"))
    rival = CustomerFactory(organization=other_org, name="Rival Inc", currency="USD")
    PaymentFactory(customer=rival, amount=Decimal("9999.00"), received_at=today)
    return org


def _ask(org, question, conversation=None, user_id=1):
    return ask_question(
        organization=org, user_id=user_id, question=question, conversation_id=conversation
    )


def _payment_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_payment")
        return cursor.fetchone()[0]


def test_it_answers_from_the_ledger_with_the_sql_used(ledger):
    rate = _ask(ledger, "what is our success rate this month")
    assert rate.path == "parser"
    assert rate.rows == [[Decimal("80.0"), Decimal("20.0"), 5]]
    assert rate.answer == "The success rate this month is 80.0% of 5 attempts."
    assert "vw_payment_analytics" in rate.sql

    highest = _ask(ledger, "highest payment amount processed till date")
    assert highest.answer.startswith("The highest payment to date is 500.00 EUR from Globex")


def test_it_follows_up_in_the_same_conversation(ledger):
    failed = _ask(ledger, "list failed payments in USD")
    assert len(failed.rows) == 1
    assert failed.rows[0][1:4] == ["Acme Ltd", Decimal("75.00"), "USD"]
    assert failed.rows[0][7] == "insufficient funds"
    follow = _ask(ledger, "and in EUR?", conversation=failed.conversation)
    assert follow.rows == []
    assert follow.answer == "No failed payments in EUR to date."
    # Another user cannot continue someone else's conversation.
    other = _ask(ledger, "and in EUR?", conversation=failed.conversation, user_id=2)
    assert other.path == "none"


def test_it_says_what_it_cannot_answer(ledger):
    answer = _ask(ledger, "what is the meaning of life")
    assert answer.path == "none"
    assert answer.rows == [] and answer.sql == ""
    assert "Which customers are most overdue?" in answer.suggestions


def test_the_api_answers_a_viewer_and_never_shows_other_organizations(
    ledger, viewer_client, outsider_client
):
    response = viewer_client.post(
        "/api/v1/ask", {"question": "how many payments did we get"}, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "parser"
    assert sum(row[1] for row in body["rows"]) == 5
    assert body["sql"].startswith("SELECT")
    assert body["conversation"]

    theirs = outsider_client.post(
        "/api/v1/ask", {"question": "how many payments did we get"}, content_type="application/json"
    ).json()
    assert theirs["rows"] == [["succeeded", 1]]


def test_the_api_names_a_bad_question(ledger, viewer_client, client):
    response = viewer_client.post("/api/v1/ask", {"question": ""}, content_type="application/json")
    assert response.status_code == 400
    assert "question" in response.json()["error"]["message"]
    anonymous = client.post("/api/v1/ask", {"question": "dso"}, content_type="application/json")
    assert anonymous.status_code in (401, 403)


def test_the_page_answers_in_place_and_downloads_the_rows(ledger, viewer_client):
    page = viewer_client.get("/ask/")
    assert page.status_code == 200
    assert "How much did Acme Ltd pay us in 2025?" in page.content.decode()
    fragment = viewer_client.post(
        "/ask/", {"question": "list failed payments in USD"}, HTTP_HX_REQUEST="true"
    )
    html = fragment.content.decode()
    assert "<html" not in html
    assert "1 failed payments in USD to date, newest first." in html
    assert "insufficient funds" in html
    csv = viewer_client.get(_csv_link(html))
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert lines[0].startswith("received_date,customer_name,amount")
    assert len(lines) == 2


def _csv_link(html: str) -> str:
    return re.search(r'href="(/ask/[0-9a-f]+/\d+\.csv)"', html).group(1)


def test_the_csv_neutralises_spreadsheet_formulas(org, viewer_client):
    InvoiceFactory(customer__organization=org, customer__name="=cmd|' /C calc'!A0")
    page = viewer_client.post("/ask/", {"question": "who owes us the most"})
    csv = viewer_client.get(_csv_link(page.content.decode()))
    body = b"".join(csv.streaming_content).decode()
    assert "'=cmd|' /C calc'!A0" in body


# ---------------------------------------------------------------- with an LLM


def test_the_llm_writes_the_sql_and_the_rows_write_the_sentence(ledger, fake_openai):
    fake_openai.reply({"sql": "SELECT count(*) AS payments FROM vw_payment_analytics",
                       "explanation": "Counts every payment attempt"})  # fmt: skip
    answer = _ask(ledger, "how many payment attempts are there")
    assert answer.path == "llm"
    assert answer.rows == [[5]]  # the other organization's payment is not counted
    assert answer.answer == "Counts every payment attempt: payments: 5."
    prompt = fake_openai.prompt_text()
    assert "vw_payment_analytics" in prompt and "how many payment attempts" in prompt


def test_a_database_error_is_fed_back_once(ledger, fake_openai):
    fake_openai.reply({"sql": "SELECT no_such_column FROM vw_payment_analytics",
                       "explanation": "x"})  # fmt: skip
    fake_openai.reply({"sql": "SELECT sum(amount) AS total FROM vw_payment_analytics "
                       "WHERE currency = 'EUR'", "explanation": "EUR total"})  # fmt: skip
    answer = _ask(ledger, "total EUR payments")
    assert answer.path == "llm"
    assert answer.rows == [[Decimal("500.00")]]
    assert "no_such_column" in fake_openai.prompt_text(1)
    assert "failed with" in fake_openai.prompt_text(1)


HOSTILE_SQL = [
    "DELETE FROM vw_payment_analytics",
    "UPDATE invoices_payment SET amount = 1",
    "SELECT 1; DROP TABLE invoices_payment",
    "SELECT pg_sleep(30)",
    "SELECT pg_read_file('/etc/passwd')",
    "COPY invoices_payment TO '/tmp/leak.csv'",
    "SELECT * FROM dblink('dbname=postgres', 'select 1') AS t(a int)",
    "SELECT set_config('role', 'postgres', false)",
    "SET ROLE postgres",
    "SELECT * FROM invoices_payment",
    "SELECT rolname, rolpassword FROM pg_authid",
    "SELECT 1 -- harmless\n; DELETE FROM vw_ar_aging",
    "SELECT * FROM vw_payment_analytics\u037e DELETE FROM vw_payment_analytics",
]


def test_hostile_sql_from_the_llm_is_refused_and_changes_nothing(ledger, fake_openai):
    # One test for all of them: each would otherwise pay for a committed-database reset.
    before = _payment_count()
    for sql in HOSTILE_SQL:
        fake_openai.reply({"sql": sql, "explanation": "as asked"})
        answer = _ask(ledger, "how many payments did we get")
        assert answer.refused.startswith("query refused: "), sql
        # The built-in parser still answers, from the organization's rows only.
        assert answer.path == "parser", sql
        assert sum(row[1] for row in answer.rows) == 5, sql
    assert _payment_count() == before
    assert len(fake_openai.requests) == len(HOSTILE_SQL)


def test_another_organizations_rows_stay_out_of_reach(ledger, fake_openai, other_org):
    fake_openai.reply({"sql": "SELECT count(*) AS n FROM vw_payment_analytics "
                       f"WHERE organization_id = {other_org.id} OR true",
                       "explanation": "Counts"})  # fmt: skip
    answer = _ask(ledger, "count payments of every organization")
    assert answer.rows == [[5]]


def test_a_huge_result_is_capped(ledger, fake_openai):
    cross_join = "vw_payment_analytics a, vw_payment_analytics b, vw_payment_analytics c"
    fake_openai.reply({"sql": f"SELECT a.payment_id FROM {cross_join}", "explanation": "all"})
    answer = ask_question(organization=ledger, user_id=1, question="everything", max_rows=20)
    assert len(answer.rows) == 20
    assert answer.truncated


@pytest.mark.parametrize("fault", ["timeout", "malformed", "5xx"])
def test_a_failing_llm_falls_back_to_the_parser(ledger, fake_openai, settings, fault):
    if fault == "timeout":
        settings.OPENAI_TIMEOUT_S = 0.5
        fake_openai.stall(3, {"sql": "SELECT 1", "explanation": "x"})
    elif fault == "malformed":
        fake_openai.reply_raw("SELECT count(*) FROM vw_payment_analytics")
    else:
        fake_openai.fail(status=502)
    answer = _ask(ledger, "what is our success rate this month")
    assert answer.path == "parser"
    assert answer.fallback_reason.split(":")[0] in ("timeout", "malformed_output", "http_error")
    assert answer.rows[0][0] == Decimal("80.0")


def test_dates_in_answers_are_the_organizations(ledger):
    answer = _ask(ledger, "list failed payments in USD")
    assert answer.rows[0][0] == timezone.now().astimezone(dt.UTC).date()


# ---------------------------------------------------------------- evaluate_ask


def test_evaluate_ask_scores_answers_against_reference_queries(ledger, tmp_path, capsys):
    questions = {
        "questions": [
            {"question": "how many payments did we get",
             "reference": "SELECT status, count(*) AS payments FROM invoices_payment "
                          "WHERE organization_id = %(org)s GROUP BY 1"},
            {"question": "and in EUR?", "follow_up": True,
             "reference": "SELECT status, count(*) AS payments FROM invoices_payment "
                          "WHERE organization_id = %(org)s AND currency = 'EUR' GROUP BY 1"},
            {"question": "highest payment amount",
             "reference": "SELECT 1.00 AS amount"},  # deliberately wrong
            {"question": "what is the meaning of life", "reference": "SELECT 1 AS x"},
        ]
    }  # fmt: skip
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(questions))
    call_command("evaluate_ask", str(path), "--org", ledger.slug)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["questions"] == 4
    assert result["exact"] == 2
    assert result["by_path"]["parser"] == {"asked": 3, "exact": 2, "accuracy": 0.667}
    assert result["refusals"] == 1
    assert result["wrong"] == ["highest payment amount", "what is the meaning of life"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid UTF-8 JSON"),
        ('{"questions": []}', "non-empty 'questions' list"),
        ('{"questions": [{"question": "dso"}]}', "question 1 needs 'question' and 'reference'"),
    ],
)
def test_evaluate_ask_names_what_is_wrong_with_the_file(org, tmp_path, content, message):
    path = tmp_path / "questions.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_ask", str(path), "--org", org.slug)


def test_the_shipped_question_set_has_sixty_questions_with_references():
    data = json.loads(Path("predictions/ask/data/eval_demo.json").read_text())
    assert len(data["questions"]) >= 60
    assert all(
        item["reference"].lstrip().upper().startswith("SELECT") for item in data["questions"]
    )
