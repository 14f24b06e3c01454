"""Create the demo practices. Idempotent: running it twice changes nothing
the second time.

Northwind IT Services gets a user for every role, a request-type catalogue
with billing assumptions (one catch-all), three clients — on a retainer, a
block of hours (an initial and a later top-up) and time-and-materials — with
scope rules and SLA targets, and
60+ tickets across statuses with time entries and decisions over the last two
months, all written through the services. Contoso Digital is small and shows
isolation (and the organization switcher: ``admin`` belongs to both).

Northwind also gets its transition layer (:meth:`Command._transitions`), also
through the services: client briefs (Acme reviewed this week, Brightside 45
days ago so it reads stale, Cobalt none yet), recurring tasks owned by the
developers with their known exceptions, risks of each severity, resolution
notes on most resolved tickets (two of Sam's are left without: the signal of
context only in someone's head) and one ticket reopened. It runs once per
practice — when it has no recurring task yet — so a practice seeded before
the transition layer gets it on the next run, and a third run changes nothing.
"""

import datetime
import logging
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from billing.services import (
    ScopeCheckRequest,
    decision_record,
    time_entry_log,
    work_log_after_the_fact,
)
from clients.models import Client, Contract, Priority, RequestType, Treatment
from clients.services import (
    block_top_up_create,
    client_create,
    contract_create,
    request_type_create,
    scope_rule_create,
    scope_rule_update,
    sla_target_create,
)
from msops.celery import app as celery_app
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from tickets.models import Ticket
from tickets.selectors import ticket_rule
from tickets.services import ticket_open, ticket_update
from transitions.briefs import client_brief_update
from transitions.models import ClientBrief, RecurringTask, Risk
from transitions.services import recurring_task_create, risk_create

DEMO_PASSWORD = "msops-demo"  # noqa: S105 - printed demo credential, not a secret

PRACTICES = [
    {
        "name": "Northwind IT Services",
        "slug": "northwind",
        "timezone": "Europe/Amsterdam",
        "currency": "EUR",
        "users": [
            ("dev", Role.DEVELOPER, "Dana Developer"),
            ("dev2", Role.DEVELOPER, "Sam Support"),
            ("am", Role.ACCOUNT_MANAGER, "Alex Account-Manager"),
            ("finance", Role.FINANCE, "Fran Finance"),
            ("admin", Role.ADMIN, "Ada Admin"),
        ],
        "domain": True,
    },
    {
        "name": "Contoso Digital",
        "slug": "contoso",
        "timezone": "America/New_York",
        "currency": "USD",
        "users": [
            ("contoso-admin", Role.ADMIN, "Casey Contoso"),
            ("admin", Role.DEVELOPER, "Ada Admin"),
        ],
        "domain": False,
    },
]

# name, default treatment, expected minutes, catch-all
REQUEST_TYPES = [
    ("Troubleshooting", Treatment.INCLUDED, 60, False),
    ("Password reset", Treatment.INCLUDED, 15, False),
    ("User onboarding", Treatment.INCLUDED, 90, False),
    ("New feature", Treatment.NEEDS_APPROVAL, 240, False),
    ("Change request", Treatment.BILLABLE, 120, False),
    ("Security incident", Treatment.INCLUDED, 120, False),
    ("Hardware procurement", Treatment.EXCLUDED, 60, False),
    ("Other", Treatment.NEEDS_APPROVAL, 60, True),
]

CLIENTS = [
    {
        "name": "Acme Logistics",
        "notes": "Retainer: 20 h a month included. New features always need Alex's approval "
        "before work starts. PO number on every invoice.",
        "contract": ("Managed support retainer", Contract.Kind.RETAINER),
        "terms": {
            "fee": Decimal("2400.00"),
            "included_minutes": 20 * 60,
            "hourly_rate": Decimal("120.00"),
            "overage_rate": Decimal("135.00"),
        },
        "rules": {
            "Troubleshooting": (Treatment.INCLUDED, 60, 180, "Covered by the retainer."),
            "Password reset": (Treatment.INCLUDED, 15, None, "Covered, keep it short."),
            "New feature": (
                Treatment.NEEDS_APPROVAL,
                240,
                60,
                "Not in the retainer: ask Alex first.",
            ),
            "Change request": (Treatment.BILLABLE, 120, 240, "Billable at the hourly rate."),
            "Hardware procurement": (
                Treatment.EXCLUDED,
                60,
                None,
                "Excluded: billed at T&M unless written off.",
            ),
        },
    },
    {
        "name": "Brightside Dental",
        "notes": "Prepaid block: 40 hours to start, then a 20-hour top-up. Top-ups expire "
        "18 months after purchase. Tell the practice manager when less than 10 h is left.",
        "contract": ("Prepaid support block", Contract.Kind.BLOCK),
        "terms": {
            # The first 40 h: the block's first top-up, at this fee.
            "fee": Decimal("4400.00"),
            "included_minutes": 40 * 60,
            "hourly_rate": Decimal("110.00"),
            "block_expiry_months": 18,
        },
        # (weeks ago, minutes, price, note): later top-ups.
        "top_ups": [
            (6, 20 * 60, Decimal("2200.00"), "Second block, ordered by phone"),
        ],
        "rules": {
            "Troubleshooting": (Treatment.INCLUDED, 45, 120, "Drawn from the block."),
            "User onboarding": (Treatment.INCLUDED, 90, None, "Drawn from the block."),
            "Security incident": (
                Treatment.INCLUDED,
                120,
                480,
                "Drawn from the block; call the owner.",
            ),
        },
        # rule → (weeks ago, what changed): a second revision of the rule.
        "revised": {
            "User onboarding": (
                3,
                {
                    "expected_minutes": 120,
                    "explanation": "Drawn from the block; laptops take longer now.",
                },
            ),
        },
    },
    {
        "name": "Cobalt Architects",
        "notes": "",  # missing billing notes: the weekly review asks for them
        "contract": ("Time and materials", Contract.Kind.TIME_AND_MATERIALS),
        "terms": {"hourly_rate": Decimal("125.00")},
        "rules": {
            "Troubleshooting": (Treatment.BILLABLE, 60, None, "Everything is billable at T&M."),
            "New feature": (Treatment.BILLABLE, 240, None, "Billable at T&M."),
        },
    },
]

TITLES = {
    "Troubleshooting": ["Outlook keeps asking for a password", "VPN drops every hour",
                        "Printer on 2nd floor offline", "Teams calls choppy", "Laptop won't boot"],
    "Password reset": ["Reset password for reception", "Locked out of the ERP"],
    "User onboarding": ["New hygienist starts Monday", "Set up laptop for new intern"],
    "New feature": ["Add a shipment export to the portal", "Automate the weekly report"],
    "Change request": ["Move the file share to SharePoint", "Change the Wi-Fi password policy"],
    "Security incident": ["Phishing mail clicked by a user", "Suspicious sign-in from abroad"],
    "Hardware procurement": ["Order two docking stations"],
    "Other": ["Question about the invoice", "Misc. help with the projector"],
}  # fmt: skip

# What was done, written by whoever resolved the ticket (by its title).
RESOLUTION_NOTES = {
    "Outlook keeps asking for a password": "Stale credentials in Credential Manager after the "
    "MFA change. Removed them, rebuilt the Outlook profile; the user confirmed mail syncs.",
    "VPN drops every hour": "The FortiClient profile still had the old 60-minute rekey. Set the "
    "phase-2 lifetime to 8 h on the FortiGate and pushed the new profile through Intune.",
    "Printer on 2nd floor offline": "The printer took a new DHCP address after the power cut. "
    "Gave it a reservation (.45) and re-added it on the print server.",
    "Teams calls choppy": "The meeting-room Wi-Fi AP was on a crowded 2.4 GHz channel. "
    "Moved it to 5 GHz and set QoS for Teams on the switch.",
    "Laptop won't boot": "BitLocker recovery after a BIOS update. Unlocked with the key from "
    "Intune, suspended BitLocker, finished the update; recovery key re-escrowed.",
    "Reset password for reception": "Reset in Entra ID, forced change at sign-in, and "
    "checked the shared reception mailbox still opens for the new password.",
    "Locked out of the ERP": "The ERP account locks after 5 tries and syncs from AD. "
    "Unlocked in AD and waited for the sync; told the user the ERP has its own lockout.",
    "New hygienist starts Monday": "Account and mailbox, laptop from stock with the "
    "role's apps, badge requested. Welcome sheet left at reception.",
    "Set up laptop for new intern": "Laptop enrolled in Intune with the standard profile; "
    "intern in the 'Interns' group (no access to the finance share).",
    "Add a shipment export to the portal": "Built the nightly CSV export to the portal's "
    "import folder. The field mapping is documented in the export script's header.",
    "Automate the weekly report": "Power Automate flow runs Mondays 07:00 and mails the "
    "report to the management list; the flow is owned by the IT service account.",
    "Move the file share to SharePoint": "Moved the Projects share to SharePoint with the "
    "migration tool; the old share is read-only for 30 days, then removed.",
    "Change the Wi-Fi password policy": "Guest Wi-Fi password now rotates monthly and is "
    "shown on the reception screen; staff SSID moved to certificate sign-in.",
    "Phishing mail clicked by a user": "Reset the password, revoked sessions, checked the "
    "sign-in log (nothing from outside NL) and purged the mail from every inbox.",
    "Suspicious sign-in from abroad": "The sign-in was the user's own phone on holiday "
    "roaming. Confirmed with the user; added a named location for the trip.",
    "Order two docking stations": "Ordered two Dell WD19S through the distributor, "
    "delivered and tested with both laptops.",
    "Question about the invoice": "Explained the overage line on the phone; the client was "
    "fine with it. No credit.",
    "Misc. help with the projector": "HDMI adapter was faulty; swapped it for a spare from "
    "the meeting-room drawer.",
    "Reset MFA for the CFO (asked on WhatsApp)": "Verified the CFO by a call to the "
    "known mobile number, reset MFA in Entra ID and re-registered the authenticator.",
}
DEFAULT_RESOLUTION_NOTE = "Fixed and tested with the user; nothing left to follow up."

# The human-written part of the client brief.
BRIEF_SUMMARIES = {
    "Acme Logistics": (
        "Environment: Microsoft 365 Business Premium, 45 users, laptops in Intune; one on-prem "
        "file server (ACME-FS01) kept only for the WMS export share; FortiGate at the warehouse.\n"
        "Preferences: changes Tuesday–Thursday after 18:00 only; warehouse scanners never reboot "
        "during shifts (06:00–22:00).\n"
        "Approvals: new features go to Alex before any work; every invoice needs the PO number "
        "from Marieke (finance).\n"
        "Escalation: a warehouse outage → call Joris (operations) within 15 minutes; anything "
        "else → mail Pieter, who sets priorities."
    ),
    "Brightside Dental": (
        "Environment: two practices (Main Street and Harbour), 18 workstations, Dentrix on a "
        "local server at Main Street; X-ray PCs on their own VLAN.\n"
        "Preferences: Ingrid (practice manager) wants a phone call, not a mail, before any "
        "downtime; patient hours are 08:00–17:30.\n"
        "Block of hours: tell Ingrid when less than 10 h is left; top-ups are ordered by phone.\n"
        "Escalation: anything touching patient data is a security incident — call Dr. Visser "
        "(owner) the same day."
    ),
}
STALE_BRIEF = "Brightside Dental"  # reviewed 45 days ago: the brief reads stale
STALE_BRIEF_AGE = datetime.timedelta(days=45)

# client, title, cadence, owner, days until next due, known exceptions
RECURRING_TASKS = [
    ("Acme Logistics", "Weekly Windows patching (servers and laptops)",
     RecurringTask.Cadence.WEEKLY, "dev", 2,
     "Never patch ACME-FS01 in the last three working days of the month: the WMS export runs "
     "nightly then. Warehouse scanners are patched by the vendor, not by us."),
    ("Acme Logistics", "Quarterly access review with Pieter",
     RecurringTask.Cadence.QUARTERLY, "dev2", 24,
     "Seasonal warehouse staff keep their accounts until 31 January; Joris signs off their "
     "removal, not Pieter."),
    ("Brightside Dental", "Monthly backup restore test",
     RecurringTask.Cadence.MONTHLY, "dev2", 9,
     "Restore Dentrix to the test VM only, never over the live server. Skip August (practice "
     "closed): do it in the first week of September."),
    ("Brightside Dental", "Weekly patching of the practice PCs",
     RecurringTask.Cadence.WEEKLY, "dev", 4,
     "X-ray PCs (VLAN 30) get security updates only, never feature updates: the imaging "
     "software breaks."),
    ("Cobalt Architects", "Monthly backup check of the NAS",
     RecurringTask.Cadence.MONTHLY, "dev", 15,
     "The plot share (\\\\COBALT-NAS\\plots) is left out of the backup on purpose: its "
     "files are temporary."),
]  # fmt: skip

# client, description, severity, owner, next action
RISKS = [
    ("Acme Logistics",
     "ACME-FS01 runs Windows Server 2012 R2, out of support; the WMS export depends on it.",
     Risk.Severity.HIGH, "dev",
     "Quote moving the export share to SharePoint; Alex raises it with Pieter at the review."),
    ("Brightside Dental",
     "Only Ingrid knows the Dentrix admin password.",
     Risk.Severity.MEDIUM, "dev2",
     "Store it in the shared vault with Ingrid on the next visit."),
    ("Brightside Dental",
     "The block of hours runs out mid-month at the current pace; work would stop being covered.",
     Risk.Severity.HIGH, "am",
     "Ask Ingrid for a top-up before less than 10 h is left."),
    ("Cobalt Architects",
     "No written terms for after-hours work: the T&M day rate is assumed for evenings.",
     Risk.Severity.LOW, "am",
     "Send Cobalt the after-hours addendum to sign."),
]  # fmt: skip
UNDOCUMENTED = ("dev2", 2)  # whose most recently resolved tickets keep no note, and how many
REOPENED_REQUEST_TYPE = "Troubleshooting"  # a fix that did not hold: the ticket reopened once


class Command(BaseCommand):
    help = "Seed the demo practices with a user for every role and live data (idempotent)."

    def handle(self, *args, **options):
        # Follow-up work (flag checks, notification mail) runs inline here
        # instead of leaving a backlog for the worker, and the demo's mail is
        # not sent to anyone.
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        trace_logger = logging.getLogger("celery.app.trace")
        trace_level = trace_logger.level
        trace_logger.setLevel(logging.WARNING)
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                rows = self._seed()
        finally:
            celery_app.conf.task_always_eager = eager
            trace_logger.setLevel(trace_level)
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for slug, username, role in rows:
            self.stdout.write(f"  {username:<15} {role:<16} /o/{slug}/")

    @transaction.atomic
    def _seed(self) -> list[tuple[str, str, str]]:
        rows = []
        for practice in PRACTICES:
            organization = Organization.objects.filter(slug=practice["slug"]).first()
            if organization is None:
                organization = organization_create(
                    name=practice["name"],
                    slug=practice["slug"],
                    timezone=practice["timezone"],
                    currency=practice["currency"],
                )
            with activate_organization(organization):
                members = {}
                for username, role, full_name in practice["users"]:
                    first, _, last = full_name.partition(" ")
                    user = user_create(
                        username=username,
                        password=DEMO_PASSWORD,
                        email=f"{username}@example.com",
                        first_name=first,
                        last_name=last,
                        is_staff=role == Role.ADMIN,
                    )
                    members[username] = membership_create(
                        organization=organization, user=user, role=role
                    )
                    rows.append((organization.slug, username, role))
                if (
                    practice["domain"]
                    and not Client.objects.filter(organization=organization).exists()
                ):
                    self._domain(organization, members)
                elif (
                    not practice["domain"]
                    and not Client.objects.filter(organization=organization).exists()
                ):
                    self._small(organization, members)
                if (
                    practice["domain"]
                    and not RecurringTask.objects.filter(organization=organization).exists()
                ):
                    self._transitions(organization, members)
        return rows

    # --- the demo practice ----------------------------------------------------
    def _domain(self, org: Organization, members: dict[str, Membership]) -> None:
        rng = random.Random(2026)
        Membership.objects.filter(organization=org, role=Role.DEVELOPER).update(
            cost_rate=Decimal("55.00")
        )
        types = {
            name: request_type_create(
                organization=org,
                name=name,
                default_treatment=treatment,
                expected_minutes=minutes,
                is_catch_all=catch_all,
            )
            for name, treatment, minutes, catch_all in REQUEST_TYPES
        }
        today = timezone.localdate(timezone=org.tzinfo)
        start = today.replace(day=1) - datetime.timedelta(days=365)
        clients = []
        for spec in CLIENTS:
            client = client_create(
                organization=org,
                name=spec["name"],
                account_manager=members["am"],
                billing_notes=spec["notes"],
            )
            contract = contract_create(
                organization=org,
                client=client,
                name=spec["contract"][0],
                kind=spec["contract"][1],
                starts_on=start,
                exclusions="New development, hardware purchases, on-site visits outside office hours.",
                terms=spec["terms"],
            )
            for name, (treatment, expected, threshold, explanation) in spec["rules"].items():
                rule = scope_rule_create(
                    organization=org,
                    contract=contract,
                    request_type=types[name],
                    treatment=treatment,
                    expected_minutes=expected,
                    approval_threshold_minutes=threshold,
                    explanation=explanation,
                    effective_from=contract.starts_on,  # agreed with the contract
                )
                if name in spec.get("revised", {}):
                    # The rule changed some weeks ago: a second revision, made
                    # as the account manager made it that day, so the history
                    # shows and older work keeps the first revision.
                    weeks_ago, changes = spec["revised"][name]
                    changed_on = today - datetime.timedelta(weeks=weeks_ago)
                    scope_rule_update(
                        scope_rule=rule, data=changes, effective_from=changed_on, today=changed_on
                    )
            for weeks_ago, minutes, price, note in spec.get("top_ups", ()):
                block_top_up_create(
                    organization=org,
                    contract=contract,
                    added_on=today - datetime.timedelta(weeks=weeks_ago),
                    minutes=minutes,
                    price=price,
                    note=note,
                )
            for priority, response, resolution in (
                (Priority.URGENT, 30, 4 * 60),
                (Priority.HIGH, 60, 8 * 60),
                (Priority.NORMAL, 4 * 60, 3 * 24 * 60),
                (Priority.LOW, 24 * 60, 10 * 24 * 60),
            ):
                sla_target_create(
                    organization=org,
                    contract=contract,
                    priority=priority,
                    first_response_minutes=response,
                    resolution_minutes=resolution,
                )
            clients.append(client)

        developers = [members["dev"], members["dev2"]]
        now = timezone.now()
        for n in range(64):
            client = clients[n % 3]
            name = rng.choice(list(TITLES))
            age = datetime.timedelta(days=60 * rng.random() ** 2)
            opened_at = now - age
            assignee = rng.choice(developers)
            ticket = ticket_open(
                organization=org,
                opened_by=members["am"] if n % 4 == 0 else assignee,
                client=client,
                request_type=types[name],
                title=rng.choice(TITLES[name]),
                priority=rng.choice(
                    [Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.LOW, Priority.URGENT]
                ),
                source=rng.choice([s for s, _ in Ticket.Source.choices]),
                assignee=assignee,
                opened_at=opened_at,
            )
            opened_on = timezone.localtime(opened_at, org.tzinfo).date()
            for _ in range(rng.randint(0, 4)):
                work_date = min(today, opened_on + datetime.timedelta(days=rng.randint(0, 6)))
                time_entry_log(
                    ticket=ticket,
                    person=assignee,
                    work_date=work_date,
                    minutes=rng.choice([15, 20, 30, 45, 60, 90]),
                    notes=rng.choice(
                        ["Investigated", "Fixed and tested", "Called the user", "Remote session"]
                    ),
                    entered_at=min(  # never entered in the future
                        now,
                        timezone.make_aware(
                            datetime.datetime.combine(
                                work_date + datetime.timedelta(days=rng.choice([0, 0, 0, 1, 5])),
                                datetime.time(17, 30),
                            ),
                            org.tzinfo,
                        ).replace(microsecond=0),
                    )
                    if work_date < today
                    else None,
                )
            self._settle(ticket, assignee, age, rng)

        # The real process under pressure: a direct message handled at once.
        work_log_after_the_fact(
            organization=org,
            actor=members["dev"],
            client=clients[0],
            request_type=types["Password reset"],
            title="Reset MFA for the CFO (asked on WhatsApp)",
            minutes=20,
            work_date=today,
            source=Ticket.Source.DIRECT_MESSAGE,
        )

    def _settle(self, ticket: Ticket, assignee: Membership, age: datetime.timedelta, rng) -> None:
        """Decide and move the ticket the way a real team would have."""
        ticket.refresh_from_db()
        suggested = ticket_rule(ticket=ticket).suggested_classification
        if age > datetime.timedelta(days=3) or rng.random() < 0.5:
            decide = {"ticket": ticket, "actor": assignee, "version": ticket.version}
            if suggested == "needs_approval" and rng.random() < 0.6:
                decision_record(
                    **decide,
                    classification="needs_approval",
                    reason="The client wants something new, not a fix.",
                    scope_check=ScopeCheckRequest(estimate_minutes=rng.choice([180, 240, 480])),
                )
            elif rng.random() < 0.08:
                decision_record(
                    **decide,
                    classification="unclear",
                    reason="Not sure whether this is covered; the account manager should say.",
                )
            elif suggested == "needs_approval":
                decision_record(
                    **decide,
                    classification="billable",
                    reason="Approved by phone before work started.",
                )
            elif suggested == "included" and rng.random() < 0.1:
                decision_record(
                    **decide,
                    classification="billable",
                    reason="Caused by the client's own change outside our support.",
                )
            else:
                decision_record(**decide, classification=suggested)
        ticket.refresh_from_db()
        if age > datetime.timedelta(days=7):
            status = rng.choice(
                [Ticket.Status.RESOLVED, Ticket.Status.CLOSED, Ticket.Status.CLOSED]
            )
        else:
            status = rng.choice(
                [Ticket.Status.NEW, Ticket.Status.IN_PROGRESS, Ticket.Status.WAITING]
            )
        if status != ticket.status:
            ticket_update(ticket=ticket, actor=assignee, version=ticket.version, status=status)

    # --- the transition layer of the demo practice ---------------------------
    def _transitions(self, org: Organization, members: dict[str, Membership]) -> None:
        """Briefs, recurring work, risks, resolution notes and one reopened
        ticket: what the next person on an account reads."""
        clients = {c.name: c for c in Client.objects.filter(organization=org)}
        now = timezone.now()
        today = timezone.localdate(timezone=org.tzinfo)

        for name, summary in BRIEF_SUMMARIES.items():
            if name not in clients:
                continue
            brief = client_brief_update(client=clients[name], summary=summary, by=members["am"])
            if name == STALE_BRIEF:
                # Written and last read 45 days ago: past the 30 days, so stale.
                ClientBrief.objects.filter(organization=org, pk=brief.pk).update(
                    reviewed_at=now - STALE_BRIEF_AGE, updated_at=now - STALE_BRIEF_AGE
                )

        maintenance = RequestType.objects.filter(
            organization=org, name="Scheduled maintenance"
        ).first() or request_type_create(
            organization=org,
            name="Scheduled maintenance",
            default_treatment=Treatment.INCLUDED,
            expected_minutes=60,
        )
        for client, title, cadence, owner, due_in, exceptions in RECURRING_TASKS:
            if client in clients:
                recurring_task_create(
                    organization=org,
                    client=clients[client],
                    title=title,
                    cadence=cadence,
                    owner=members[owner],
                    request_type=maintenance,
                    next_due=today + datetime.timedelta(days=due_in),
                    known_exceptions=exceptions,
                )
        for client, description, severity, owner, next_action in RISKS:
            if client in clients:
                risk_create(
                    organization=org,
                    client=clients[client],
                    description=description,
                    severity=severity,
                    owner=members[owner],
                    next_action=next_action,
                )

        # Resolution notes, as the person who resolved each ticket wrote them
        # (the seed resolves tickets in the order it opens them).
        done = list(
            Ticket.objects.filter(
                organization=org,
                status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED],
                resolution_note="",
            )
            .select_related("assignee")
            .order_by("-resolved_at", "-pk")
        )
        person, how_many = UNDOCUMENTED
        undocumented = [t.pk for t in done if t.assignee_id == members[person].pk][:how_many]
        for ticket in done:
            if ticket.pk in undocumented:
                continue
            ticket_update(
                ticket=ticket,
                actor=ticket.assignee,
                version=ticket.version,
                resolution_note=RESOLUTION_NOTES.get(ticket.title, DEFAULT_RESOLUTION_NOTE),
            )

        # The fix did not hold: a resolved ticket came back today.
        came_back = (
            Ticket.objects.filter(
                organization=org, status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
            )
            .exclude(resolution_note="")
            .select_related("assignee")
            .order_by("-resolved_at", "-pk")
        )
        ticket = (
            came_back.filter(request_type__name=REOPENED_REQUEST_TYPE).first() or came_back.first()
        )
        if ticket is not None:
            ticket_update(
                ticket=ticket,
                actor=ticket.assignee,
                version=ticket.version,
                status=Ticket.Status.IN_PROGRESS,
            )

    def _small(self, org: Organization, members: dict[str, Membership]) -> None:
        rtype = request_type_create(organization=org, name="Website fix", expected_minutes=60)
        client = client_create(
            organization=org,
            name="Fabrikam Bakery",
            account_manager=members["contoso-admin"],
            billing_notes="T&M, invoiced quarterly.",
        )
        contract_create(
            organization=org,
            client=client,
            name="Time and materials",
            kind=Contract.Kind.TIME_AND_MATERIALS,
            starts_on=timezone.localdate(timezone=org.tzinfo) - datetime.timedelta(days=200),
            terms={"hourly_rate": Decimal("95.00")},
        )
        ticket = ticket_open(
            organization=org,
            opened_by=members["contoso-admin"],
            client=client,
            request_type=rtype,
            title="Menu page shows last year's prices",
            assignee=members["admin"],
        )
        time_entry_log(
            ticket=ticket,
            person=members["admin"],
            work_date=timezone.localdate(timezone=org.tzinfo),
            minutes=45,
            notes="Updated the menu.",
        )
