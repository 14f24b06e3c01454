"""Isolation-test route classification for billing decisions pages and API."""

from tests.isolation_types import Route, collection, exempt, obj

ROUTES: dict[str, Route] = {
    # Pages: the developer's prompt and its actions on the ticket page.
    "billing:ticket_decide": obj(pk="ticket"),
    "billing:ticket_out_of_scope": obj(pk="ticket"),
    "billing:ticket_change_request": obj(pk="ticket"),
    "billing:ticket_move_to_implementation": obj(pk="ticket"),
    "billing:after_the_fact": collection(),
    # Pages: scope checks and the decision log.
    "billing:scope_check_queue": collection(),
    "billing:scope_check_approve": obj(pk="scope_check"),
    "billing:scope_check_reject": obj(pk="scope_check"),
    "billing:scope_check_ask_client": obj(pk="scope_check"),
    "billing:decision_log": obj(pk="client"),
    # The client's page: outside any organization, no login.
    "public:client_scope_check": exempt(
        "no login, no organization URL: the signed single-use token names the organization "
        "and the check (tests/billing/test_client_link.py covers foreign, tampered, expired "
        "and reused links)"
    ),
    # API
    "api:billing-decision-list": collection(),
    "api:billing-decision-detail": obj(pk="decision"),
    "api:billing-decision-reclassify": collection(),
    "billing:ticket_reclassify": obj(pk="ticket"),
    "api:scope-check-list": collection(),
    "api:scope-check-detail": obj(pk="scope_check"),
    "api:scope-check-approve": obj(pk="scope_check"),
    "api:scope-check-reject": obj(pk="scope_check"),
    "api:scope-check-ask-client": obj(pk="scope_check"),
    "api:decision-log-entry-list": collection(),
    "api:decision-log-entry-detail": obj(pk="decision_log_entry"),
    "api:work-after-the-fact-list": collection(),
}
