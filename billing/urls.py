"""Billing pages. ``urlpatterns`` are included under /o/<org>/billing/ (every
view receives ``org`` first); ``public_urlpatterns`` are the pages outside any
organization, mounted by msops/urls.py under /client/ in the ``public``
namespace: the client's signed approval link (no login; the organization
comes from the signed token)."""

from django.urls import path

from .views import client_link, decisions, jobs, scope_checks

app_name = "billing"

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
]

public_urlpatterns = [
    path(
        "scope-checks/<str:token>/",
        client_link.client_scope_check,
        name="client_scope_check",
    ),
]
