"""The SLA clock's fields for tickets opened before it (0007):

- a ticket waiting on the client gets an open pause since its last change;
- ``response_minutes`` / ``resolution_minutes``: whole wall minutes from
  opening (these tickets have no calendar: round the clock);
- risk times: three quarters of the way from opening to the due.

Set-based (one UPDATE per field), only where the field is still empty, every
organization at once: under row-level security, through the bypass."""

from django.db import migrations

from msops.tenancy import rls

RISK_SHARE = 0.75  # tickets.services.sla.SLA_RISK_SHARE when this was written
BATCH = 1000


def _minutes_sql(vendor: str, start: str, end: str) -> str:
    if vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60)::integer"
    # SQLite: julianday in whole milliseconds, then integer division.
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400000) AS INTEGER) / 60000"


def _risk_sql(vendor: str, due: str) -> str:
    if vendor == "postgresql":
        return f"opened_at + ({due} - opened_at) * {RISK_SHARE}"
    return (
        "strftime('%Y-%m-%d %H:%M:%f', julianday(opened_at)"
        f" + (julianday({due}) - julianday(opened_at)) * {RISK_SHARE})"
    )


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    TicketPause = apps.get_model("tickets", "TicketPause")
    connection = schema_editor.connection
    vendor = connection.vendor
    table = connection.ops.quote_name(Ticket._meta.db_table)
    with rls.bypass():
        # Waiting tickets: the clock stands still since their last change.
        waiting = (
            Ticket._base_manager.filter(status="waiting")
            .exclude(
                pk__in=TicketPause._base_manager.filter(ended_at__isnull=True).values("ticket_id")
            )
            .values_list("pk", "organization_id", "updated_at")
        )
        batch = []
        for pk, organization_id, updated_at in waiting.iterator(chunk_size=BATCH):
            batch.append(
                TicketPause(
                    organization_id=organization_id,
                    ticket_id=pk,
                    started_at=updated_at,
                    reason="Waiting on client",
                )
            )
            if len(batch) >= BATCH:
                TicketPause._base_manager.bulk_create(batch)
                batch = []
        if batch:
            TicketPause._base_manager.bulk_create(batch)

        with connection.cursor() as cursor:
            for minutes, done in (
                ("response_minutes", "first_responded_at"),
                ("resolution_minutes", "resolved_at"),
            ):
                cursor.execute(
                    f"UPDATE {table} SET {minutes} = {_minutes_sql(vendor, 'opened_at', done)}"  # noqa: S608
                    f" WHERE {minutes} IS NULL AND {done} IS NOT NULL AND {done} >= opened_at"
                )
            for risk, due in (
                ("first_response_risk_at", "first_response_due"),
                ("resolution_risk_at", "resolution_due"),
            ):
                cursor.execute(
                    f"UPDATE {table} SET {risk} = {_risk_sql(vendor, due)}"  # noqa: S608
                    f" WHERE {risk} IS NULL AND {due} IS NOT NULL AND {due} >= opened_at"
                )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_sla_clock"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
