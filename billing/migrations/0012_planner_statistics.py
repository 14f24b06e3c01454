# A portion's contract decides its organization (msops/planner.py).
from django.db import migrations

from msops.planner import DependencyStatistics


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_client_view")]

    operations = [
        DependencyStatistics(
            name="portion_org_contract_stats",
            table="billing_entryportion",
            columns=["organization_id", "contract_id"],
        ),
    ]
