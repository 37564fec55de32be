"""The reminders pages: the review queue (grouped by step and risk), one reminder's preview
and edit, bulk approve, send now, the outcome report, and promises to pay recorded from
invoice and customer pages. Function views; every write goes through a service."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from invoices.analytics import organization_today
from invoices.selectors import customer_get, invoice_get
from invoices.views.common import PAGE_SIZES, paginate, pagination
from paypredict_project.tenancy.decorators import require_org_permission
from reminders import selectors
from reminders.forms import PromiseForm, QueueFilterForm, ReminderEditForm
from reminders.models import PENDING_STATUSES, DunningStep, ReminderStatus
from reminders.services import outcomes, promises, review
from reminders.services.sending import reminders_send_due

READ, SEND = "read:invoices", "send:reminders"
RISK_ORDER = {"high": 0, "medium": 1, "low": 2, "": 3}
QUEUE_PAGE_SIZE = 50


def _queue(request, form: QueueFilterForm):
    reminders = selectors.reminder_list(organization=request.organization)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or "pending"
    if status == "pending":
        reminders = reminders.filter(Q(status__in=PENDING_STATUSES) | Q(delivery_unknown=True))
    elif status == "unknown":
        reminders = reminders.filter(delivery_unknown=True)
    else:
        reminders = reminders.filter(status=status)
    if data.get("step"):
        reminders = reminders.filter(step_key=data["step"])
    if data.get("risk"):
        reminders = reminders.filter(risk_level=data["risk"])
    risk_rank = Case(
        *(When(risk_level=level, then=Value(rank)) for level, rank in RISK_ORDER.items()),
        default=Value(3),
        output_field=IntegerField(),
    )
    # Step, then risk, then customer: a page holds whole groups or the start/rest of one.
    return status, reminders.order_by("step__offset_days", risk_rank, "customer__name", "id")


def _groups(reminders) -> list[dict]:
    """Consecutive rows of one step and risk level (the rows come ordered that way)."""
    groups = []
    for (step, risk), rows in groupby(reminders, key=lambda r: (r.step, r.risk_level)):
        rows = list(rows)
        groups.append({"step": step, "risk": risk or "unknown", "reminders": rows})
    return groups


@require_org_permission(READ)
def reminder_queue(request):
    form = QueueFilterForm(request.GET or None)
    status, reminders = _queue(request, form)
    size = (
        int(request.GET["per_page"]) if request.GET.get("per_page") in map(str, PAGE_SIZES) else 0
    )
    page = paginate(request, reminders, size=size or QUEUE_PAGE_SIZE)
    steps = DunningStep.objects.filter(
        policy__organization=request.organization, policy__customer=None
    ).order_by("offset_days")
    context = {
        "form": form,
        "status": status,
        "groups": _groups(page.object_list),
        "count": page.paginator.count,
        "page": page,
        "pager": pagination(request, page),
        "steps": steps,
        "can_send": SEND in request.org_permissions,
    }
    if request.htmx:
        return render(request, "reminders/queue.html#queue-table", context)
    return render(request, "reminders/queue.html", context)


@require_POST
@require_org_permission(SEND)
def reminders_bulk_approve(request):
    codes = request.POST.getlist("code")
    if not codes:
        messages.error(request, "Select at least one draft to approve.")
    else:
        try:
            count = review.reminders_approve_bulk(
                organization=request.organization, codes=codes, user=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{count} reminder{'s' if count != 1 else ''} approved.")
    return redirect(request.POST.get("next") or "reminder-queue")


@require_org_permission(READ)
def reminder_detail(request, code, form: ReminderEditForm | None = None, status: int = 200):
    reminder = selectors.reminder_get(organization=request.organization, code=code)
    if form is None:
        form = ReminderEditForm(
            initial={"subject": reminder.subject, "body_text": reminder.body_text}
        )
    context = {
        "reminder": reminder,
        "items": list(reminder.items.all()),
        "events": list(reminder.events.all()),
        "form": form,
        "can_send": SEND in request.org_permissions,
        "editable": reminder.status in PENDING_STATUSES,
    }
    template = "reminders/detail.html"
    if request.htmx and request.method == "POST":
        template += "#reminder-main"
    return render(request, template, context, status=status)


def _act(request, code, action, success: str):
    reminder = selectors.reminder_get(organization=request.organization, code=code)
    try:
        action(reminder)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success)
    if request.htmx:
        return reminder_detail(request, code)
    return redirect("reminder-detail", code=code)


@require_POST
@require_org_permission(SEND)
def reminder_approve(request, code):
    return _act(
        request,
        code,
        lambda r: review.reminder_approve(reminder=r, user=request.user),
        "Approved: it goes out with the next send run, or press Send now.",
    )


@require_POST
@require_org_permission(SEND)
def reminder_reject(request, code):
    return _act(
        request,
        code,
        lambda r: review.reminder_reject(reminder=r, user=request.user),
        "Rejected: this customer is not reminded at this step.",
    )


@require_POST
@require_org_permission(SEND)
def reminder_resolve(request, code):
    delivered = request.POST.get("delivered") == "true"
    return _act(
        request,
        code,
        lambda r: review.reminder_resolve_unknown(
            reminder=r, delivered=delivered, user=request.user
        ),
        "Marked as sent." if delivered else "Released: the next send run sends it.",
    )


def _send_now(request, reminder) -> None:
    if reminder.status == ReminderStatus.DRAFT:
        review.reminder_approve(reminder=reminder, user=request.user)
    result = reminders_send_due(organization=request.organization, codes=[reminder.code])
    if result.busy:
        raise ValidationError("Another send run is in progress; try again in a moment.")
    reminder.refresh_from_db()
    if reminder.status != ReminderStatus.SENT:
        raise ValidationError(
            f"Not sent: the reminder is {reminder.get_status_display().lower()}"
            + (f" ({reminder.last_error})" if reminder.last_error else ".")
        )


@require_POST
@require_org_permission(SEND)
def reminder_send_now(request, code):
    return _act(request, code, lambda r: _send_now(request, r), "Sent.")


@require_POST
@require_org_permission(SEND)
def reminder_edit(request, code):
    form = ReminderEditForm(request.POST)
    if form.is_valid():
        reminder = selectors.reminder_get(organization=request.organization, code=code)
        try:
            review.reminder_edit(reminder=reminder, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your wording is saved; the preview shows it.")
            if not request.htmx:
                return redirect("reminder-detail", code=code)
            return reminder_detail(request, code)
    return reminder_detail(request, code, form=form, status=400)


@require_org_permission(READ)
def reminder_report(request):
    organization = request.organization
    outcomes.reminder_outcomes_refresh(organization=organization)
    rows = outcomes.reminder_outcome_report(organization=organization)
    return render(
        request,
        "reminders/report.html",
        {"rows": rows, "holdout": outcomes.reminder_holdout_report(organization=organization)},
    )


# ---------------------------------------------------------------- promises to pay


def _promise_target(request):
    invoice_code = request.POST.get("invoice")
    if invoice_code:
        invoice = invoice_get(organization=request.organization, code=invoice_code)
        return invoice.customer, invoice
    return customer_get(organization=request.organization, code=request.POST.get("customer")), None


@require_POST
@require_org_permission(SEND)
def promise_create(request):
    customer, invoice = _promise_target(request)
    back = (
        redirect("invoice-detail", code=invoice.code)
        if invoice
        else redirect("customer-detail", code=customer.code)
    )
    form = PromiseForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")
        return back
    try:
        promises.promise_create(
            organization=request.organization,
            customer=customer,
            invoice=invoice,
            today=organization_today(organization=request.organization),
            recorded_by=request.user,
            **form.cleaned_data,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        until = form.cleaned_data["promised_date"].isoformat()
        messages.success(request, f"Promise recorded: reminders pause until {until}.")
    return back


@require_POST
@require_org_permission(SEND)
def promise_cancel(request, code):
    promise = selectors.promise_get(organization=request.organization, code=code)
    try:
        promises.promise_cancel(
            promise=promise, today=organization_today(organization=request.organization)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Promise cancelled: reminders resume.")
    if promise.invoice_id:
        return redirect("invoice-detail", code=promise.invoice.code)
    return redirect("customer-detail", code=promise.customer.code)


@require_org_permission("admin")
def policy_edit(request):
    from reminders.forms import PolicyForm, StepFormSet
    from reminders.services.policies import dunning_policy_create_default, dunning_policy_update

    policy = dunning_policy_create_default(organization=request.organization)
    form = PolicyForm(request.POST or None, instance=policy)
    steps = StepFormSet(request.POST or None, instance=policy)
    if request.method == "POST":
        if form.is_valid() and steps.is_valid():
            dunning_policy_update(policy=policy, form=form, steps=steps)
            messages.success(request, "Dunning policy saved; the next plan uses it.")
            return redirect("dunning-policy")
        status = 400
    else:
        status = 200
    return render(request, "reminders/policy.html", {"form": form, "steps": steps}, status=status)
