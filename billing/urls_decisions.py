"""Billing pages: decisions (included by billing/urls.py under /o/<org>/billing/;
every view receives ``org`` first)."""

from django.urls import path

from .views import decisions

urlpatterns: list = [
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
    path("after-the-fact/", decisions.after_the_fact, name="after_the_fact"),
    # The account manager's scope checks.
    path("scope-checks/", decisions.scope_check_queue, name="scope_check_queue"),
    path(
        "scope-checks/<int:pk>/approve/",
        decisions.scope_check_approve_view,
        name="scope_check_approve",
    ),
    path(
        "scope-checks/<int:pk>/reject/",
        decisions.scope_check_reject_view,
        name="scope_check_reject",
    ),
    path(
        "scope-checks/<int:pk>/ask-client/",
        decisions.scope_check_ask_client_view,
        name="scope_check_ask_client",
    ),
    # A client's unusual decisions.
    path("clients/<int:pk>/decision-log/", decisions.decision_log, name="decision_log"),
]
