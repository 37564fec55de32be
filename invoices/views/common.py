"""Helpers shared by the dashboard's list pages: typed request, sorting, paging, partials."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

from paypredict_project.tenancy.models import Organization

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


class DashboardRequest(HttpRequest):
    """What our middleware stack guarantees on a dashboard request (for type checkers)."""

    user: AbstractBaseUser
    htmx: HtmxDetails
    organization: Organization
    org_permissions: frozenset[str]


def wants_partial(request: HttpRequest) -> bool:
    """An HTMX swap gets the fragment; a history restore (back button with an empty htmx
    cache) and a boosted navigation need the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render_varying(
    request: HttpRequest, template_name: str, context: dict, *, status: int = 200
) -> HttpResponse:
    response = render(request, template_name, context, status=status)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_page_or_partial(
    request: HttpRequest,
    template: str,
    partial: str,
    context: dict,
    *,
    status: int = 200,
) -> HttpResponse:
    name = f"{template}#{partial}" if wants_partial(request) else template
    return render_varying(request, name, context, status=status)


def _order(field: str, *, descending: bool = False) -> OrderBy:
    name = field.removeprefix("-")
    if descending or field.startswith("-"):
        return F(name).desc(nulls_last=True)
    return F(name).asc(nulls_last=True)


def sort_queryset(
    queryset: QuerySet,
    value: str | None,
    *,
    columns: dict[str, tuple[str, ...]],
    default: str,
) -> tuple[QuerySet, str, dict[str, dict[str, str]]]:
    """Order by a whitelisted column (``name`` or ``-name``).

    Returns the queryset, the sort in effect, and per column the value its header link
    should set (clicking the active column flips its direction) and its aria-sort state.
    """
    value = value or default
    key = value.removeprefix("-")
    if key not in columns:
        value, key = default, default.removeprefix("-")
    descending = value.startswith("-")
    # The direction applies to the column's first field; further fields are tie-breakers in
    # the order written ("-name" descending). Rows without a value (an invoice not scored
    # yet) sort last in both directions.
    first, *ties = columns[key]
    fields = [_order(first, descending=descending), *(_order(f) for f in ties)]
    links = {}
    for column in columns:
        if column == key:
            links[column] = {
                "next": column if descending else f"-{column}",
                "aria": "descending" if descending else "ascending",
            }
        else:
            links[column] = {"next": column, "aria": "none"}
    return queryset.order_by(*fields, "-id" if descending else "id"), value, links


def page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("per_page", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def paginate(
    request: HttpRequest, queryset: QuerySet, *, param: str = "page", size: int | None = None
) -> Page:
    """Page numbers (an out-of-range or junk page number falls back to the nearest page)."""
    paginator = Paginator(queryset, size or page_size(request))
    return paginator.get_page(request.GET.get(param))


def pagination(request: HttpRequest, page: Page, *, param: str = "page") -> dict:
    """Links for a pager: query strings that keep every other parameter of the request."""

    def query(number: int) -> str:
        params = request.GET.copy()
        params[param] = str(number)
        return f"?{params.urlencode()}"

    return {
        "page": page,
        "previous": query(page.previous_page_number()) if page.has_previous() else None,
        "next": query(page.next_page_number()) if page.has_next() else None,
        "numbers": [
            {"number": number, "query": query(number), "current": number == page.number}
            if number
            else None
            for number in page_window(page)
        ],
    }


def page_window(page: Page, *, around: int = 2) -> list[int | None]:
    """Page numbers to link: first, last and a window around the current one (None = gap)."""
    last = page.paginator.num_pages
    shown = sorted(
        {1, last, *range(max(1, page.number - around), min(last, page.number + around) + 1)}
    )
    window: list[int | None] = []
    for number in shown:
        if window and window[-1] is not None and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    return window
