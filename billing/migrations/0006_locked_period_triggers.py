"""The database's own wall around locked billing periods (PostgreSQL).

A client's month that is locked or exported refuses, whatever code path
tries: time entries and their portions dated in it, its drafts, lines and
adjustments, and the unit counts and block top-ups it priced. Services check
first and answer clearly; this is what a forgotten check runs into. The
error's SQLSTATE is ``MSLCK`` (``msops.sql.LOCKED_PERIOD_SQLSTATE``)."""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION msops_period_closed(org bigint, client bigint, day date)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM billing_billingperiod p
    WHERE p.organization_id = org AND p.client_id = client
    AND p.month = date_trunc('month', day)::date AND p.status IN ('locked', 'exported'))
$$;

CREATE OR REPLACE FUNCTION msops_refuse_locked(what text, day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'The billing period % is locked: % cannot change.',
    to_char(day, 'YYYY-MM'), what USING ERRCODE = 'MSLCK';
END $$;

-- Time entries and their portions: by the ticket's client and the work date.
CREATE OR REPLACE FUNCTION msops_dated_row_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  client bigint;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT t.client_id INTO client FROM tickets_ticket t WHERE t.id = OLD.ticket_id;
    IF msops_period_closed(OLD.organization_id, client, OLD.work_date) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], OLD.work_date);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT t.client_id INTO client FROM tickets_ticket t WHERE t.id = NEW.ticket_id;
    IF msops_period_closed(NEW.organization_id, client, NEW.work_date) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], NEW.work_date);
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

-- Drafts, lines and adjustments: by their period.
CREATE OR REPLACE FUNCTION msops_period_row_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  closed_month date;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT p.month INTO closed_month FROM billing_billingperiod p
      WHERE p.id = OLD.period_id AND p.status IN ('locked', 'exported');
    IF closed_month IS NOT NULL THEN PERFORM msops_refuse_locked(TG_ARGV[0], closed_month); END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT p.month INTO closed_month FROM billing_billingperiod p
      WHERE p.id = NEW.period_id AND p.status IN ('locked', 'exported');
    IF closed_month IS NOT NULL THEN PERFORM msops_refuse_locked(TG_ARGV[0], closed_month); END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

-- Unit counts and block top-ups: by the contract's client and their month.
CREATE OR REPLACE FUNCTION msops_contract_row_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  client bigint;
  day date;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT k.client_id INTO client FROM clients_contract k WHERE k.id = OLD.contract_id;
    day := CASE WHEN TG_TABLE_NAME = 'clients_unitcount' THEN to_jsonb(OLD)->>'month'
                ELSE to_jsonb(OLD)->>'added_on' END;
    IF msops_period_closed(OLD.organization_id, client, day) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], day);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT k.client_id INTO client FROM clients_contract k WHERE k.id = NEW.contract_id;
    day := CASE WHEN TG_TABLE_NAME = 'clients_unitcount' THEN to_jsonb(NEW)->>'month'
                ELSE to_jsonb(NEW)->>'added_on' END;
    IF msops_period_closed(NEW.organization_id, client, day) THEN
      PERFORM msops_refuse_locked(TG_ARGV[0], day);
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
"""

TRIGGERS = (
    ("tickets_timeentry", "msops_dated_row_guard", "a time entry"),
    ("billing_entryportion", "msops_dated_row_guard", "the billing meaning of its time"),
    ("billing_invoicedraft", "msops_period_row_guard", "its invoice draft"),
    ("billing_invoiceline", "msops_period_row_guard", "an invoice line"),
    ("billing_adjustment", "msops_period_row_guard", "an adjustment"),
    ("clients_unitcount", "msops_contract_row_guard", "a unit count"),
    ("clients_blocktopup", "msops_contract_row_guard", "a block top-up"),
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the embedded default): the services' checks only.
    statements = [FUNCTIONS]
    for table, function, what in TRIGGERS:
        statements.append(
            f"CREATE TRIGGER msops_locked_period BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {function}('{what}')"
        )
    for statement in statements:
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _, _ in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS msops_locked_period ON {table}", None)
    for function in (
        "msops_dated_row_guard()", "msops_period_row_guard()", "msops_contract_row_guard()",
        "msops_refuse_locked(text, date)", "msops_period_closed(bigint, bigint, date)",
    ):  # fmt: skip
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}", None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_finance_periods_drafts_lines"),
        ("clients", "0003_tier_mode_block_top_ups"),
        ("tickets", "0002_threshold_levels"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
