"""The Ask page: a conversation of questions and answers, each answer an HTMX fragment."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from invoices.models import Customer
from paypredict_project.tenancy.decorators import require_org_permission
from predictions.ask import parser
from predictions.ask.services import PAGE_ROWS, AskInputError, ask_question, ask_rerun
from predictions.charts import bar_chart
from predictions.reports.exports import csv_response


@require_org_permission("read:invoices")
@require_http_methods(["GET", "POST"])
def ask_page(request):
    context = {"examples": _examples(request.organization), "conversation": ""}
    if request.method == "POST":
        try:
            answer = ask_question(
                organization=request.organization,
                user_id=request.user.id,
                question=request.POST.get("question", ""),
                conversation_id=request.POST.get("conversation") or None,
                max_rows=PAGE_ROWS,
            )
        except AskInputError as error:
            context["error"] = str(error)
            status = 400
        else:
            context.update(_answer_context(answer))
            status = 200
        if request.htmx:
            return render(request, "predictions/ask.html#answer", context, status=status)
        return render(request, "predictions/ask.html", context, status=status)
    return render(request, "predictions/ask.html", context)


@require_org_permission("read:invoices")
def ask_csv(request, conversation: str, turn: int):
    try:
        columns, rows = ask_rerun(
            organization=request.organization,
            user_id=request.user.id,
            conversation_id=conversation,
            turn=turn,
        )
    except AskInputError as error:
        return HttpResponse(str(error), status=404, content_type="text/plain")
    return csv_response(
        name=f"ask-{conversation[:8]}-{turn}",
        organization=request.organization,
        header=columns,
        rows=rows,
    )


def _answer_context(answer) -> dict:
    chart = None
    if answer.chart and answer.rows:
        x, y = answer.columns.index(answer.chart["x"]), answer.columns.index(answer.chart["y"])
        labels = [str(row[x]) for row in answer.rows]
        chart = bar_chart(labels, [float(row[y] or 0) for row in answer.rows])
    return {
        "answer": answer,
        "conversation": answer.conversation,
        "chart": chart,
        "chart_y": answer.chart["y"] if answer.chart else "",
    }


def _examples(organization) -> list[str]:
    """Example questions that work on this organization's data (a real customer's name)."""
    name = (
        Customer.objects.filter(organization=organization)
        .order_by("name")
        .values_list("name", flat=True)
        .first()
    )
    examples = parser.example_questions()
    return [e.replace("Acme", name) if name else e for e in examples if name or "Acme" not in e]
