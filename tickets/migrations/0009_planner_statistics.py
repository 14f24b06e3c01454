# A ticket's client and contract decide its organization (msops/planner.py).
from django.db import migrations

from msops.planner import DependencyStatistics


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_sla_clock_backfill")]

    operations = [
        DependencyStatistics(
            name="ticket_org_client_stats",
            table="tickets_ticket",
            columns=["organization_id", "client_id", "contract_id"],
        ),
    ]
