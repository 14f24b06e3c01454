"""The planner statistics of msops/planner.py are in the database after
``migrate``: a ticket's client and contract, and a portion's contract,
decide the organization (without them an account manager's home reads a
month's time ticket by ticket once other practices share the tables)."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner"),
]

EXPECTED = {
    "ticket_org_client_stats": ("tickets_ticket", {"organization_id", "client_id", "contract_id"}),
    "portion_org_contract_stats": ("billing_entryportion", {"organization_id", "contract_id"}),
}


def _statistics() -> dict[str, tuple[str, set[str], list[str]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.stxname, c.relname, array_agg(a.attname::text), s.stxkind::text[]
            FROM pg_statistic_ext s
            JOIN pg_class c ON c.oid = s.stxrelid
            JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = ANY (s.stxkeys)
            GROUP BY s.stxname, c.relname, s.stxkind
            """
        )
        return {name: (table, set(columns), kinds) for name, table, columns, kinds in cursor}


def test_the_dependency_statistics_are_created_by_migrate():
    found = _statistics()
    for name, (table, columns) in EXPECTED.items():
        assert name in found, f"{name} is missing: run migrate"
        assert found[name][:2] == (table, columns)
        assert found[name][2] == ["f"]  # functional dependencies


def test_the_statistics_tell_the_planner_a_client_decides_the_organization():
    """EXPLAIN's estimate for one practice's clients' tickets, with another
    practice's tickets beside them, is close to the count (without the
    statistics it is the product of the two selectivities: a quarter)."""
    from django_scopes import scopes_disabled

    from tests.factories import ClientFactory, OrganizationFactory, TicketFactory

    with scopes_disabled():
        ours, theirs = OrganizationFactory(), OrganizationFactory()
        client, other = ClientFactory(organization=ours), ClientFactory(organization=theirs)
        for _ in range(30):
            TicketFactory(organization=ours, client=client)
            TicketFactory(organization=theirs, client=other)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT id FROM tickets_ticket "
            "WHERE organization_id = %s AND client_id IN (%s)",
            [ours.pk, client.pk],
        )
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert estimate >= 25, estimate  # 30 tickets; independence would say 15
