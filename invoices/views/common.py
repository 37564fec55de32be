"""Helpers shared by the dashboard's list pages: typed request, sorting, paging, partials."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
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


# Counting every match of a million-row ledger reads every matching row; past this many the
# list says "more than N" and the pager offers "Next" instead of a last page number.
COUNT_LIMIT = 1000


class CappedPaginator(Paginator):
    """A paginator that counts matches only up to a limit (``LIMIT`` inside the COUNT).

    The limit always reaches one row past the requested page, so "Next" shows whenever another
    page exists; ``exact`` says whether ``count`` is the full number of matches.
    """

    def __init__(self, object_list, per_page, *, requested_page: int = 1, limit: int = COUNT_LIMIT):
        super().__init__(object_list, per_page)
        self.limit = max(limit, requested_page * per_page)

    @cached_property
    def count(self) -> int:
        # No ORDER BY and only the key: the count must not sort or fetch whole rows.
        return self.object_list.order_by().values("pk")[: self.limit + 1].count()

    @cached_property
    def exact(self) -> bool:
        return self.count <= self.limit

    @property
    def count_label(self) -> str:
        return f"{self.count:,}" if self.exact else f"more than {self.limit:,}"


def paginate(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    param: str = "page",
    size: int | None = None,
    capped: bool = False,
) -> Page:
    """Page numbers (an out-of-range or junk page number falls back to the nearest page).

    ``capped``: for lists that can match a million rows (invoices, payments), count only up
    to ``COUNT_LIMIT`` (or the requested page) instead of every match.
    """
    size = size or page_size(request)
    if not capped:
        return Paginator(queryset, size).get_page(request.GET.get(param))
    try:
        requested = max(1, int(request.GET.get(param, 1)))
    except ValueError:
        requested = 1
    # One row past the requested page decides whether "Next" is shown.
    paginator = CappedPaginator(queryset, size, requested_page=requested + 1, limit=COUNT_LIMIT)
    return paginator.get_page(requested)


def pagination(request: HttpRequest, page: Page, *, param: str = "page") -> dict:
    """Links for a pager: query strings that keep every other parameter of the request."""

    def query(number: int) -> str:
        params = request.GET.copy()
        params[param] = str(number)
        return f"?{params.urlencode()}"

    exact = getattr(page.paginator, "exact", True)
    return {
        "page": page,
        "previous": query(page.previous_page_number()) if page.has_previous() else None,
        "next": query(page.next_page_number()) if page.has_next() else None,
        "numbers": [
            {"number": number, "query": query(number), "current": number == page.number}
            if number
            else None
            for number in page_window(page, last_known=exact)
        ],
        "total_pages_label": (
            f"{page.paginator.num_pages:,}"
            if exact
            else f"more than {page.paginator.num_pages - 1:,}"
        ),
    }


def page_window(page: Page, *, around: int = 2, last_known: bool = True) -> list[int | None]:
    """Page numbers to link: first, last and a window around the current one (None = gap).

    When the count was capped (``last_known`` false) the last page is unknown: the window
    ends in a gap after the page following the current one.
    """
    last = page.paginator.num_pages
    end = min(last, page.number + around)
    shown = {1, *range(max(1, page.number - around), end + 1)}
    if last_known:
        shown.add(last)
    window: list[int | None] = []
    for number in sorted(shown):
        if window and window[-1] is not None and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    if not last_known:
        window.append(None)
    return window
