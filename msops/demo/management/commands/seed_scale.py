"""Generate benchmark-scale data: many organizations, tickets and time entries.

Rows go in with PostgreSQL COPY (bulk_create on SQLite), bypassing the
services on purpose: this is synthetic data for benchmarks, generated to the
same shape the services produce. A million time entries take about a minute.

    manage.py seed_scale --organizations 100 --tickets 200000 --entries 1000000
"""

import datetime
import random
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import BillingDecision, EntryPortion
from clients.models import (
    BlockTopUp,
    Client,
    Contract,
    ContractRevision,
    Priority,
    RequestType,
    ScopeRule,
    SLATarget,
    Treatment,
)
from msops.tenancy import rls
from msops.tenancy.models import Membership, Organization, Role
from tickets.models import Ticket, TicketPause, TimeEntry

REQUEST_TYPES = [
    ("Troubleshooting", Treatment.INCLUDED, 60, False),
    ("Password reset", Treatment.INCLUDED, 15, False),
    ("New feature", Treatment.NEEDS_APPROVAL, 240, False),
    ("Change request", Treatment.BILLABLE, 120, False),
    ("Onboarding", Treatment.BILLABLE, 180, False),
    ("Security incident", Treatment.INCLUDED, 120, False),
    ("Hardware procurement", Treatment.EXCLUDED, 60, False),
    ("Other", Treatment.NEEDS_APPROVAL, 60, True),
]
ROLES = [Role.ADMIN, Role.ACCOUNT_MANAGER, Role.FINANCE, Role.DEVELOPER, Role.DEVELOPER]
CLIENTS_PER_ORG = 10
DAYS_BACK = 120


class Command(BaseCommand):
    help = "Generate benchmark data with bulk inserts (COPY on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--organizations", type=int, default=10)
        parser.add_argument("--tickets", type=int, default=10_000, help="in total")
        parser.add_argument("--entries", type=int, default=50_000, help="time entries in total")
        parser.add_argument("--prefix", default="scale", help="slug prefix of the organizations")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--days", type=int, default=DAYS_BACK, help="tickets are opened over this many days"
        )

    def handle(self, *args, **opts):
        n_orgs, n_tickets, n_entries = opts["organizations"], opts["tickets"], opts["entries"]
        if n_orgs < 1 or n_tickets < n_orgs or n_entries < 0:
            raise CommandError("Need at least one organization and one ticket per organization.")
        prefix = opts["prefix"]
        rng = random.Random(opts["seed"])
        self.days_back = opts["days"]
        if self.days_back < 1:
            raise CommandError("--days must be at least 1.")
        started = time.monotonic()
        # Bulk-seeds many organizations at once: the row-security bypass.
        with scopes_disabled(), transaction.atomic(), rls.bypass():
            if Organization.objects.filter(slug__startswith=f"{prefix}-").exists():
                raise CommandError(
                    f"Organizations with the prefix “{prefix}-” exist: use --prefix."
                )
            orgs = self._organizations(prefix, n_orgs)
            per_org = self._configuration(orgs, rng, prefix)
            self._log(started, f"{n_orgs} organizations configured")
            ticket_ids = self._tickets(orgs, per_org, n_tickets, rng)
            self._log(started, f"{n_tickets} tickets")
            self._entries(orgs, per_org, ticket_ids, n_entries, rng)
            self._log(started, f"{n_entries} time entries")
            self._totals(orgs)
            self._portions(orgs)
            self._pauses(orgs)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        self._log(started, "done")

    def _log(self, started: float, what: str) -> None:
        self.stdout.write(f"{time.monotonic() - started:8.1f}s  {what}")

    def _organizations(self, prefix: str, n: int) -> list[Organization]:
        return Organization.objects.bulk_create(
            Organization(name=f"Scale Practice {i:03d}", slug=f"{prefix}-{i:03d}", currency="EUR")
            for i in range(n)
        )

    def _configuration(self, orgs, rng, prefix) -> dict:
        User = get_user_model()
        password = make_password("msops-scale")
        users = User.objects.bulk_create(
            User(username=f"{org.slug}-{i}", password=password, email=f"{org.slug}-{i}@example.com")
            for org in orgs
            for i in range(len(ROLES))
        )
        memberships = Membership.objects.bulk_create(
            Membership(
                organization=org,
                user=users[o * len(ROLES) + i],
                role=role,
                cost_rate=Decimal("55.00"),
            )
            for o, org in enumerate(orgs)
            for i, role in enumerate(ROLES)
        )
        types = RequestType.objects.bulk_create(
            RequestType(
                organization=org,
                name=name,
                default_treatment=treatment,
                expected_minutes=minutes,
                is_catch_all=catch_all,
            )
            for org in orgs
            for name, treatment, minutes, catch_all in REQUEST_TYPES
        )
        clients = Client.objects.bulk_create(
            Client(
                organization=org,
                name=f"Client {c:02d} of {org.slug}",
                account_manager=memberships[o * len(ROLES) + 1],
                billing_notes="PO number on every invoice." if c % 3 else "",
            )
            for o, org in enumerate(orgs)
            for c in range(CLIENTS_PER_ORG)
        )
        start = timezone.localdate() - datetime.timedelta(days=max(365, self.days_back + 1))
        kinds = [Contract.Kind.RETAINER, Contract.Kind.BLOCK, Contract.Kind.TIME_AND_MATERIALS]
        contracts = Contract.objects.bulk_create(
            Contract(
                organization_id=client.organization_id,
                client=client,
                name="Support agreement",
                kind=kinds[i % len(kinds)],
                starts_on=start,
                currency="EUR",
            )
            for i, client in enumerate(clients)
        )
        ContractRevision.objects.bulk_create(
            ContractRevision(
                organization_id=contract.organization_id,
                contract=contract,
                effective_from=start,
                fee=Decimal("2500.00"),
                included_minutes=30 * 60,
                hourly_rate=Decimal("120.00"),
                overage_rate=Decimal("140.00"),
            )
            for contract in contracts
        )
        # A block's balance is its top-ups: the first terms' minutes on its
        # first day at the fee (as contract_create does), and a second one
        # half a year later.
        blocks = [contract for contract in contracts if contract.kind == Contract.Kind.BLOCK]
        BlockTopUp.objects.bulk_create(
            BlockTopUp(
                organization_id=contract.organization_id,
                contract=contract,
                added_on=added_on,
                minutes=30 * 60,
                price=Decimal("2500.00"),
                note=note,
            )
            for contract in blocks
            for added_on, note in [
                (start, "The block's first prepaid time"),
                (start + datetime.timedelta(days=182), "Topped up"),
            ]
        )
        ScopeRule.objects.bulk_create(
            ScopeRule(
                organization_id=contract.organization_id,
                contract=contract,
                request_type=rtype,
                treatment=rtype.default_treatment,
                expected_minutes=rtype.expected_minutes,
                approval_threshold_minutes=rtype.expected_minutes * 3,
                explanation=f"{rtype.name} under the support agreement.",
                effective_from=start,
            )
            for c, contract in enumerate(contracts)
            for rtype in types[(c // CLIENTS_PER_ORG) * len(REQUEST_TYPES) :][: len(REQUEST_TYPES)]
        )
        SLATarget.objects.bulk_create(
            SLATarget(
                organization_id=contract.organization_id,
                contract=contract,
                priority=priority,
                first_response_minutes=minutes,
                resolution_minutes=minutes * 8,
            )
            for contract in contracts
            for priority, minutes in [
                (Priority.NORMAL, 240),
                (Priority.HIGH, 60),
                (Priority.URGENT, 15),
            ]
        )
        per_org = {}
        for o, org in enumerate(orgs):
            per_org[org.pk] = {
                "members": [m.pk for m in memberships[o * len(ROLES) : (o + 1) * len(ROLES)]],
                "types": [
                    t.pk for t in types[o * len(REQUEST_TYPES) : (o + 1) * len(REQUEST_TYPES)]
                ],
                "clients": [c.pk for c in clients[o * CLIENTS_PER_ORG : (o + 1) * CLIENTS_PER_ORG]],
                "contracts": [
                    c.pk for c in contracts[o * CLIENTS_PER_ORG : (o + 1) * CLIENTS_PER_ORG]
                ],
            }
        return per_org

    def _tickets(self, orgs, per_org, n_tickets, rng) -> dict[int, list[int]]:
        now = timezone.now()
        statuses = [s for s, _ in Ticket.Status.choices]
        sources = [s for s, _ in Ticket.Source.choices]
        priorities = [
            Priority.NORMAL,
            Priority.NORMAL,
            Priority.HIGH,
            Priority.URGENT,
            Priority.LOW,
        ]
        # Old work is mostly done and decided; the last ten days are live.
        settled = ["included"] * 12 + ["billable"] * 6 + ["unclear", ""]
        live = ["", "", "included", "included", "billable", "needs_approval", "unclear"]
        done = [Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
        columns = [
            "organization_id", "number", "title", "description", "client_id", "contract_id",
            "request_type_id", "priority", "status", "phase", "source", "assignee_id",
            "opened_by_id", "opened_at", "first_response_due", "resolution_due",
            "first_responded_at", "resolved_at", "first_response_risk_at", "resolution_risk_at",
            "response_minutes", "resolution_minutes", "reopen_count", "last_reopened_at", "resolution_note",
            "classification", "logged_minutes", "version", "updated_at",
        ]  # fmt: skip
        self.classification: dict[tuple[int, int], str] = {}

        def rows():
            for o, org in enumerate(orgs):
                share = n_tickets // len(orgs) + (1 if o < n_tickets % len(orgs) else 0)
                cfg = per_org[org.pk]
                for number in range(1, share + 1):
                    c = rng.randrange(CLIENTS_PER_ORG)
                    age = datetime.timedelta(minutes=rng.randrange(self.days_back * 24 * 60))
                    opened = now - age
                    old = age > datetime.timedelta(days=10) and rng.random() < 0.97
                    status = rng.choice(done) if old else rng.choice(statuses)
                    responded = opened + datetime.timedelta(minutes=rng.randrange(20, 300))
                    resolved = opened + datetime.timedelta(hours=rng.randrange(2, 96))
                    classification = rng.choice(settled if old else live)
                    self.classification[(org.pk, number)] = (classification, opened.date())
                    # Round the clock (no calendar): the SLA clock is the wall clock.
                    responded = (
                        responded if status != Ticket.Status.NEW and responded < now else None
                    )
                    resolved = resolved if status in done else None
                    reopened = resolved is not None and rng.random() < 0.03
                    yield [
                        org.pk, number, f"Request {number} for client {c}", "", cfg["clients"][c],
                        cfg["contracts"][c], rng.choice(cfg["types"]), rng.choice(priorities),
                        status, "investigation", rng.choice(sources),
                        rng.choice(cfg["members"][3:]), cfg["members"][1], opened,
                        opened + datetime.timedelta(hours=4), opened + datetime.timedelta(days=2),
                        responded, resolved,
                        opened + datetime.timedelta(hours=3), opened + datetime.timedelta(hours=36),
                        _minutes(opened, responded), _minutes(opened, resolved),
                        1 if reopened else 0,
                        opened + datetime.timedelta(hours=1) if reopened else None,
                        "Fixed and checked with the client." if resolved else "",
                        classification, 0, 1, opened,
                    ]  # fmt: skip

        copy_rows(Ticket, columns, rows())
        ids: dict[int, list[tuple[int, str, datetime.date]]] = {org.pk: [] for org in orgs}
        for org_id, ticket_id, number in Ticket.objects.filter(organization__in=orgs).values_list(
            "organization_id", "pk", "number"
        ):
            ids[org_id].append((ticket_id, *self.classification[(org_id, number)]))
        return ids

    def _entries(self, orgs, per_org, ticket_ids, n_entries, rng) -> None:
        today = timezone.localdate()
        now = timezone.now()
        status_for = {
            "": "undecided",
            "included": "included",
            "billable": "billable",
            "needs_approval": "pending_approval",
            "unclear": "unclear",
        }
        columns = [
            "organization_id", "ticket_id", "person_id", "work_date", "minutes", "notes",
            "entered_at", "billing_status", "rate", "cost_rate", "locked",
        ]  # fmt: skip

        def rows():
            for o, org in enumerate(orgs):
                share = n_entries // len(orgs) + (1 if o < n_entries % len(orgs) else 0)
                members = per_org[org.pk]["members"][3:]
                tickets = ticket_ids[org.pk]
                for _ in range(share):
                    ticket_id, classification, opened_on = rng.choice(tickets)
                    span = max(0, min((today - opened_on).days, 14))
                    work_date = opened_on + datetime.timedelta(days=rng.randrange(span + 1))
                    late = rng.random() < 0.05
                    entered = datetime.datetime.combine(
                        work_date + datetime.timedelta(days=rng.randrange(4, 15) if late else 0),
                        datetime.time(17, rng.randrange(60)),
                        tzinfo=datetime.UTC,
                    )
                    entered = min(entered, now)
                    yield [
                        org.pk, ticket_id, rng.choice(members), work_date,
                        rng.choice((15, 15, 15, 30, 30, 45, 60, 90)), "Worked on it.",
                        entered, status_for[classification], "120.00", "55.00", False,
                    ]  # fmt: skip

        copy_rows(TimeEntry, columns, rows())

    def _totals(self, orgs) -> None:
        """Keep Ticket.logged_minutes equal to the sum of its entries."""
        ids = [org.pk for org in orgs]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {Ticket._meta.db_table} AS t SET logged_minutes = s.total
                FROM (
                    SELECT ticket_id, SUM(minutes) AS total FROM {TimeEntry._meta.db_table}
                    WHERE organization_id IN ({",".join(["%s"] * len(ids))})
                    GROUP BY ticket_id
                ) AS s
                WHERE t.id = s.ticket_id
                """,  # noqa: S608 - table names from models, values as parameters
                ids,
            )

    def _portions(self, orgs) -> None:
        """One portion per generated entry: its status, the ticket's latest
        decision and contract, the request type's default treatment (the
        generated data has no thresholds to split)."""
        ids = [org.pk for org in orgs]
        marks = ",".join(["%s"] * len(ids))
        entry, ticket = TimeEntry._meta.db_table, Ticket._meta.db_table
        portion, decision = EntryPortion._meta.db_table, BillingDecision._meta.db_table
        rtype = RequestType._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {portion} (organization_id, entry_id, ticket_id, position, minutes,
                    work_date, status, decision_id, waits_on, contract_id, treatment)
                SELECT e.organization_id, e.id, e.ticket_id, 0, e.minutes, e.work_date,
                    e.billing_status,
                    CASE WHEN e.billing_status = 'undecided' THEN NULL ELSE
                        (SELECT d.id FROM {decision} d WHERE d.ticket_id = e.ticket_id
                         ORDER BY d.decided_at DESC, d.id DESC LIMIT 1) END,
                    '', t.contract_id, rt.default_treatment
                FROM {entry} e JOIN {ticket} t ON t.id = e.ticket_id
                JOIN {rtype} rt ON rt.id = t.request_type_id
                WHERE e.organization_id IN ({marks})
                """,  # noqa: S608 - table names from models, values as parameters
                ids,
            )

    def _pauses(self, orgs) -> None:
        if connection.vendor != "postgresql":
            return  # the benchmarks run on PostgreSQL
        ids = [org.pk for org in orgs]
        with connection.cursor() as cursor:
            cursor.execute(_pauses_sql().format(marks=",".join(["%s"] * len(ids))), ids)


def _pauses_sql() -> str:
    pause, ticket = TicketPause._meta.db_table, Ticket._meta.db_table
    # Tickets waiting on the client now have an open pause; one in twenty
    # done tickets waited an hour on the client (the clock is the wall clock).
    return f"""
        INSERT INTO {pause} (organization_id, ticket_id, started_at, ended_at, reason,
            business_minutes)
        SELECT t.organization_id, t.id, t.opened_at + INTERVAL '30 minutes',
            CASE WHEN t.status = 'waiting' THEN NULL
                 ELSE t.opened_at + INTERVAL '90 minutes' END,
            'Waiting on client', CASE WHEN t.status = 'waiting' THEN NULL ELSE 60 END
        FROM {ticket} t
        WHERE t.organization_id IN ({{marks}})
          AND (t.status = 'waiting' OR (t.resolved_at IS NOT NULL AND t.id %% 20 = 0))
    """  # noqa: S608 - table names from models, values as parameters


def _minutes(start: datetime.datetime, end: datetime.datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds() // 60)


def copy_rows(model, columns: list[str], rows, batch: int = 50_000) -> None:
    """Insert ``rows`` (lists in ``columns`` order) with COPY on PostgreSQL,
    bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        fields = [_field_for_column(model, c) for c in columns]
        buffer = []
        for row in rows:
            buffer.append(model(**{f: v for f, v in zip(fields, row, strict=True)}))
            if len(buffer) >= batch:
                model.objects.bulk_create(buffer)
                buffer.clear()
        model.objects.bulk_create(buffer)
        return
    table = model._meta.db_table
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _field_for_column(model, column: str) -> str:
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field.attname
    raise CommandError(f"{model.__name__} has no column {column}")
