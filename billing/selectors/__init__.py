"""Reads of billing, by subdomain: ``decisions`` (decisions, the decision log
and the ticket page's billing), ``scope_checks``, ``flags``, ``review`` and
``navigation``. Import the module you need (``billing.selectors.review``);
this package re-exports nothing.

Each selector filters by organization explicitly and joins what its page or
endpoint shows, so the number of queries stays the same whatever the number
of rows."""
