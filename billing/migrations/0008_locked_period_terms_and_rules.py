"""The database's wall also covers the terms and scope rule revisions dated in
a locked or exported month: they decide how that month prices."""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION msops_contract_row_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  client bigint;
  day date;
  column_name text := CASE TG_TABLE_NAME
    WHEN 'clients_unitcount' THEN 'month'
    WHEN 'clients_blocktopup' THEN 'added_on'
    ELSE 'effective_from' END;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT k.client_id INTO client FROM clients_contract k WHERE k.id = OLD.contract_id;
    day := to_jsonb(OLD)->>column_name;
    IF msops_period_closed(OLD.organization_id, client, day) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], day);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT k.client_id INTO client FROM clients_contract k WHERE k.id = NEW.contract_id;
    day := to_jsonb(NEW)->>column_name;
    IF msops_period_closed(NEW.organization_id, client, day) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], day);
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
"""

TRIGGERS = (
    ("clients_contractrevision", "contract terms"),
    ("clients_scoperule", "a scope rule"),
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD, None)
    for table, what in TRIGGERS:
        schema_editor.execute(
            f"CREATE TRIGGER msops_locked_period BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION msops_contract_row_guard('{what}')",
            None,
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _ in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS msops_locked_period ON {table}", None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_portion_org_date")]

    operations = [migrations.RunPython(install, uninstall)]
