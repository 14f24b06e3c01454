"""Isolation-test route classification for the finance API (the world's
objects are built in tests/billing/isolation_finance.py)."""

from tests.isolation_types import Route, collection, obj

ROUTES: dict[str, Route] = {
    # Billing periods and what finance does about their exceptions.
    "api:billing-period-list": collection(),
    "api:billing-period-detail": obj(pk="billing_period"),
    "api:billing-period-start-review": obj(pk="billing_period"),
    "api:billing-period-lock": obj(pk="billing_period"),
    "api:billing-period-unlock": obj(pk="locked_period"),
    "api:billing-period-export": obj(pk="locked_period"),
    "api:billing-period-exceptions": obj(pk="billing_period"),
    "api:billing-period-exception-classify": obj(pk="billing_period"),
    "api:billing-period-exception-write-off": obj(pk="billing_period"),
    "api:billing-period-exception-send-back": obj(pk="billing_period"),
    "api:billing-period-exception-resolve-flag": obj(pk="billing_period"),
    # Saved drafts and their lines.
    "api:invoice-draft-list": collection(),
    "api:invoice-draft-detail": obj(pk="invoice_draft"),
    "api:invoice-line-list": collection(),
    "api:invoice-line-detail": obj(pk="invoice_line"),
    # Adjustments to locked periods, and the month's draft job.
    "api:adjustment-list": collection(),
    "api:adjustment-detail": obj(pk="adjustment"),
    "api:draft-run-list": collection(),
    "api:draft-run-detail": obj(pk="draft_run"),
    # Each contract's usage this month.
    "api:contract-usage-list": collection(),
    "api:contract-usage-detail": obj(pk="contract"),
}
