"""The one gate every Ask query passes: a single read-only SELECT over allow-listed views.

The database enforces the same boundary again (a read-only login bound to one organization,
paypredict_project/readonly.py); this check exists so a refused query gets a clear reason and
never reaches the database. The query that runs is the parsed tree rendered anew, so comments,
odd unicode or a second statement hidden in the text cannot survive into it.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from predictions.ask.catalog import VIEW_NAMES

# Functions a question may need: aggregates, date and text helpers, arithmetic. Anything else
# (pg_sleep, pg_read_file, set_config, dblink, lo_import, current_setting...) is refused.
ALLOWED_FUNCTIONS = frozenset(
    [
        # sqlglot's names for the functions it knows (class names, lower-cased) ...
        "and", "or", "not",  # AND/OR are functions to sqlglot
        "abs", "anyvalue", "approxquantile", "arrayagg", "avg", "case", "cast", "ceil",
        "coalesce", "concat", "count", "countif", "currentdate", "currenttimestamp", "dateadd",
        "datediff", "datesub", "datetrunc", "denserank", "extract", "firstvalue", "floor",
        "greatest", "groupconcat", "if", "initcap", "lag", "lastvalue", "lead", "least",
        "length", "lower", "max", "median", "min", "mod", "ntile", "nullif", "percentilecont",
        "percentiledisc", "pow", "quantile", "rank", "round", "rownumber", "sqrt", "stddev",
        "stddevpop", "stddevsamp", "strtodate", "substring", "sum", "timestamptrunc",
        "timetostr", "todate", "trim", "trycast", "tsordstodate", "upper", "variance",
        # ... and the names of those it does not know, as written
        "date_part", "to_char", "to_date", "now",
    ]
)  # fmt: skip

_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
    exp.Set, exp.Copy, exp.Into, exp.Lock, exp.Merge, exp.TruncateTable, exp.Grant,
    exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Pragma, exp.LoadData,
)  # fmt: skip


class UnsafeQuery(Exception):
    """The query is not a single read-only SELECT over the allowed views; says why."""


def safe_select(query: str) -> str:
    """The query as it will run (re-rendered from its parse tree), or UnsafeQuery."""
    tree = _single_statement(query)
    if not isinstance(tree, exp.Query):
        raise UnsafeQuery("only a SELECT query can be run")
    for node in tree.walk():
        _check_node(node)
    _check_tables(tree)
    return tree.sql(dialect="postgres", comments=False)


def _single_statement(query: str) -> exp.Expression:
    if not query.strip():
        raise UnsafeQuery("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(query, dialect="postgres") if s is not None]
    except ParseError as error:
        raise UnsafeQuery(f"the query could not be read as SQL: {_first_line(error)}") from error
    if len(statements) != 1:
        raise UnsafeQuery(f"exactly one statement is allowed, found {len(statements)}")
    return statements[0]


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, _FORBIDDEN_NODES):
        raise UnsafeQuery(f"{node.key.upper()} is not allowed: questions only read data")
    if isinstance(node, exp.Func):
        name = _function_name(node)
        if name not in ALLOWED_FUNCTIONS:
            raise UnsafeQuery(f"the function {name}() is not allowed")
    if isinstance(node, exp.Select) and node.args.get("locks"):
        raise UnsafeQuery("row locks (FOR UPDATE/SHARE) are not allowed")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.key.lower()


def _check_tables(tree: exp.Expression) -> None:
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog"):
            raise UnsafeQuery(f"{table.sql()} is not allowed: use the documented views only")
        if name in cte_names:
            continue
        if name not in VIEW_NAMES:
            allowed = ", ".join(sorted(VIEW_NAMES))
            raise UnsafeQuery(f"{name} is not an allowed view (allowed: {allowed})")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200]
