"""Isolation-test route classification for the finance pages (the month's
review, a client's period and its actions, "explain this line", a contract's
usage). The world's periods, lines and runs come from
tests/billing/isolation_finance.py; ``build`` adds the month the month pages
are opened at (a URL argument that is no object's pk)."""

from dataclasses import dataclass

from tests.billing.isolation_finance import OPEN_MONTH
from tests.isolation_types import Route, obj


@dataclass(frozen=True)
class MonthKey:
    """A month as a URL argument: the world's open month."""

    pk: str


def month_collection() -> Route:
    """A tenant collection addressed by its month (no object in it)."""
    return Route("collection", {"month": "finance_month"})


ROUTES: dict[str, Route] = {
    # The month's pre-invoice review and its draft job.
    "billing:finance_current": Route("collection"),
    "billing:finance_month": month_collection(),
    "billing:finance_compute": month_collection(),
    "billing:finance_client_month": Route("object", {"month": "finance_month", "pk": "client"}),
    # A client's period and what finance does on it.
    "billing:finance_period": obj(pk="billing_period"),
    "billing:finance_period_start_review": obj(pk="billing_period"),
    "billing:finance_period_lock": obj(pk="billing_period"),
    "billing:finance_period_unlock": obj(pk="locked_period"),
    "billing:finance_period_export": obj(pk="locked_period"),
    "billing:finance_adjustment_create": obj(pk="locked_period"),
    "billing:finance_exception_classify": obj(pk="billing_period"),
    "billing:finance_exception_write_off": obj(pk="billing_period"),
    "billing:finance_exception_resolve_flag": obj(pk="billing_period"),
    "billing:finance_send_back": obj(pk="billing_period"),
    # Explain a line; a contract's usage this month.
    "billing:finance_line": obj(pk="invoice_line"),
    "billing:contract_usage": obj(pk="contract"),
}


def build(organization, tag: str, world: dict) -> dict:
    return {"finance_month": MonthKey(f"{OPEN_MONTH:%Y-%m}")}
