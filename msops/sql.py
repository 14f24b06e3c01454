"""Building blocks of the set-based SQL the jobs run (exception flags, the
weekly review): quoted table names, string concatenation, string constants
and parameters adapted for a raw cursor."""

import datetime

from django.db import connection


def table(model) -> str:
    """The model's table name, quoted for the current database."""
    return connection.ops.quote_name(model._meta.db_table)


def concat(*parts: str) -> str:
    """SQL string concatenation of expressions (casts numbers to text)."""
    cast = "CAST({} AS TEXT)"
    return " || ".join(cast.format(p) if not p.startswith("'") else p for p in parts)


def sql_list(values) -> str:
    """Constants (model choices, never input) as an SQL list: ``'a', 'b'``."""
    return ", ".join(f"'{value}'" for value in values)


def text_constant(text: str) -> str:
    """A constant for an SQL string literal in a statement that takes parameters."""
    return str(text).replace("'", "''").replace("%", "%%")


def adapt(value):
    """A parameter for a raw cursor: dates and datetimes as the database wants them."""
    ops = connection.ops
    if isinstance(value, datetime.datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return ops.adapt_datefield_value(value)
    return value


# The SQLSTATE of the database's own wall around locked billing periods
# (triggers in billing/migrations/0006_locked_period_triggers.py).
LOCKED_PERIOD_SQLSTATE = "MSLCK"


def refused_by_locked_period(error: BaseException) -> bool:
    """Whether a database error is a locked billing period refusing a change."""
    return getattr(getattr(error, "__cause__", None), "sqlstate", None) == LOCKED_PERIOD_SQLSTATE
