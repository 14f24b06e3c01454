"""Billing pages. ``urlpatterns`` are included under /o/<org>/billing/ (every
view receives ``org`` first); ``public_urlpatterns`` are the pages outside any
organization, mounted by msops/urls.py under /client/ in the ``public``
namespace: the client's signed approval link (no login; the organization
comes from the signed token)."""

import datetime

from django.urls import path, register_converter

from msops.calendar import parse_month

from .views import (
    client_link,
    client_view,
    decisions,
    finance,
    finance_actions,
    finance_explain,
    insights,
    jobs,
    scope_checks,
    timers,
    timesheet,
)

app_name = "billing"


class MonthConverter:
    """``2026-11`` in a URL ↔ the first day of that month (read by
    :func:`msops.calendar.parse_month`: a year outside 1900–9998 is a 404)."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> datetime.date:
        month = parse_month(value)
        if month is None:
            raise ValueError(f"Not a month: {value}")
        return month

    def to_url(self, value) -> str:
        return value.strftime("%Y-%m") if isinstance(value, datetime.date) else str(value)


register_converter(MonthConverter, "yyyy_mm")

urlpatterns = [
    # The developer's prompt on the ticket page and its actions.
    path("tickets/<int:pk>/decide/", decisions.ticket_decide, name="ticket_decide"),
    path(
        "tickets/<int:pk>/out-of-scope/",
        decisions.ticket_out_of_scope,
        name="ticket_out_of_scope",
    ),
    path(
        "tickets/<int:pk>/change-request/",
        decisions.ticket_change_request,
        name="ticket_change_request",
    ),
    path(
        "tickets/<int:pk>/move-to-implementation/",
        decisions.ticket_move_to_implementation,
        name="ticket_move_to_implementation",
    ),
    path("tickets/<int:pk>/reclassify/", decisions.ticket_reclassify, name="ticket_reclassify"),
    path("after-the-fact/", decisions.after_the_fact, name="after_the_fact"),
    # A client's unusual decisions.
    path("clients/<int:pk>/decision-log/", decisions.decision_log, name="decision_log"),
    # The account manager's scope checks.
    path("scope-checks/", scope_checks.scope_check_queue, name="scope_check_queue"),
    path(
        "scope-checks/<int:pk>/approve/",
        scope_checks.scope_check_approve_view,
        name="scope_check_approve",
    ),
    path(
        "scope-checks/<int:pk>/reject/",
        scope_checks.scope_check_reject_view,
        name="scope_check_reject",
    ),
    path(
        "scope-checks/<int:pk>/ask-client/",
        scope_checks.scope_check_ask_client_view,
        name="scope_check_ask_client",
    ),
    # What the jobs catch: exception flags and the weekly review.
    path("flags/", jobs.flag_list, name="flag_list"),
    path("flags/<int:pk>/resolve/", jobs.flag_resolve_view, name="flag_resolve"),
    path("review/", jobs.review_current, name="review_current"),
    path("review/rebuild/", jobs.review_rebuild, name="review_rebuild"),
    path("review/<int:pk>/", jobs.review_detail, name="review_detail"),
    path(
        "review/items/<int:pk>/resolve/", jobs.review_item_resolve_view, name="review_item_resolve"
    ),
    path(
        "review/items/<int:pk>/reassign/",
        jobs.review_item_reassign_view,
        name="review_item_reassign",
    ),
    # Finance: the month's pre-invoice review, a client's period, its lines.
    path("finance/", finance.finance_current, name="finance_current"),
    path("finance/<yyyy_mm:month>/", finance.finance_month, name="finance_month"),
    path("finance/<yyyy_mm:month>/compute/", finance.finance_compute, name="finance_compute"),
    path(
        "finance/<yyyy_mm:month>/clients/<int:pk>/",
        finance.finance_client_month,
        name="finance_client_month",
    ),
    path("finance/periods/<int:pk>/", finance.finance_period, name="finance_period"),
    path(
        "finance/periods/<int:pk>/start-review/",
        finance_actions.finance_period_start_review,
        name="finance_period_start_review",
    ),
    path(
        "finance/periods/<int:pk>/lock/",
        finance_actions.finance_period_lock,
        name="finance_period_lock",
    ),
    path(
        "finance/periods/<int:pk>/unlock/",
        finance_actions.finance_period_unlock,
        name="finance_period_unlock",
    ),
    path(
        "finance/periods/<int:pk>/export/",
        finance_actions.finance_period_export,
        name="finance_period_export",
    ),
    path(
        "finance/periods/<int:pk>/adjustments/",
        finance_actions.finance_adjustment_create,
        name="finance_adjustment_create",
    ),
    path(
        "finance/periods/<int:pk>/classify/",
        finance_actions.finance_exception_classify,
        name="finance_exception_classify",
    ),
    path(
        "finance/periods/<int:pk>/write-off/",
        finance_actions.finance_exception_write_off,
        name="finance_exception_write_off",
    ),
    path(
        "finance/periods/<int:pk>/resolve-flag/",
        finance_actions.finance_exception_resolve_flag,
        name="finance_exception_resolve_flag",
    ),
    path(
        "finance/periods/<int:pk>/send-back/",
        finance_actions.finance_send_back,
        name="finance_send_back",
    ),
    path("finance/lines/<int:pk>/", finance_explain.finance_line, name="finance_line"),
    # The person's timer on the ticket page, and their week of time.
    path("tickets/<int:pk>/timer/start/", timers.ticket_timer_start, name="timer_start"),
    path("tickets/<int:pk>/timer/stop/", timers.ticket_timer_stop, name="timer_stop"),
    path("tickets/<int:pk>/timer/discard/", timers.ticket_timer_discard, name="timer_discard"),
    path("timesheet/", timesheet.timesheet_page, name="timesheet"),
    path("timesheet/cell/", timesheet.timesheet_cell, name="timesheet_cell"),
    # A contract's usage this month (loaded in place on the client and ticket pages).
    path("contracts/<int:pk>/usage/", finance_explain.contract_usage_view, name="contract_usage"),
    # Insights: leakage, allowance use, billing questions, catch-all, late entries, context.
    path("insights/", insights.insights_page, name="insights"),
    path("insights/csv/", insights.insights_csv, name="insights_csv"),
    # A client's view links (signed, expiring, revocable) and their views.
    path("clients/<int:pk>/client-view/", client_view.client_view_links, name="client_view_links"),
    path(
        "client-view-links/<int:pk>/revoke/",
        client_view.client_view_link_revoke_view,
        name="client_view_link_revoke",
    ),
]

public_urlpatterns = [
    path(
        "scope-checks/<str:token>/",
        client_link.client_scope_check,
        name="client_scope_check",
    ),
    # The client view: a contact's read-only page (signed, expiring, revocable, logged).
    path("view/<str:token>/", client_view.client_view, name="client_view"),
]
