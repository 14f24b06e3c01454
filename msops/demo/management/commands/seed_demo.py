"""Create the demo practices. Idempotent: running it twice changes nothing
the second time.

Northwind IT Services gets a user for every role, a request-type catalogue
with billing assumptions (one catch-all), three clients — on a retainer, a
block of hours (an initial and a later top-up) and time-and-materials — with
scope rules and SLA targets, and a month that looks real (:class:`_Month`):
about 60 tickets opened over the last four weeks at working hours in the
practice's timezone, answered, decided, worked on working days and resolved
in time, played through the services at the times it happened — and a
handful of exceptions a person acts on. The flag sweep and this week's review
run at the end, as the beat would run them, and the command prints what the
demo holds. Contoso Digital is small and shows isolation (and the
organization switcher: ``admin`` belongs to both).

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
import itertools
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from unittest import mock

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils import timezone as django_timezone

from billing.flags import flags_sweep
from billing.models import ExceptionFlag, ReviewItem, ReviewQueue, ScopeCheck
from billing.services import (
    ScopeCheckRequest,
    decision_record,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_client_answer,
    scope_check_client_link,
    time_entry_log,
    work_log_after_the_fact,
)
from billing.services.review import review_queue_build
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
from clients.services.sla_calendar import sla_calendar_set
from msops.celery import app as celery_app
from msops.mail import absolute_url
from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.scoping import activate_organization
from msops.tenancy.services import membership_create, organization_create, user_create
from msops.timezones import organization_today
from tickets.models import BillingMoment, Ticket, TimeEntry
from tickets.selectors import ticket_rule
from tickets.services import ticket_open, ticket_update
from transitions.briefs import client_brief_update
from transitions.models import ClientBrief, RecurringTask, Risk
from transitions.overdue import recurring_overdue_flags
from transitions.review_pack import review_pack_prepare
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
        "notes": "Prepaid blocks of 10 hours, topped up by phone (the first one 7 weeks ago, "
        "5 more hours two weeks ago). Top-ups expire 18 months after purchase. Tell the "
        "practice manager when less than 3 h is left.",
        "contract": ("Prepaid support block", Contract.Kind.BLOCK),
        "since_weeks": 7,  # a newer client: its contract started 7 weeks ago
        "terms": {
            # The first 10 h: the block's first top-up, at this fee.
            "fee": Decimal("1100.00"),
            "included_minutes": 10 * 60,
            "hourly_rate": Decimal("110.00"),
            "block_expiry_months": 18,
        },
        # (weeks ago, minutes, price, note): later top-ups.
        "top_ups": [
            (2, 5 * 60, Decimal("550.00"), "Second block, ordered by phone"),
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

# The routine of the month: per client, (request type, title) of each ticket
# that went the way most tickets go (answered in time, decided as the rule
# says, done within the expected time). The tickets a person has to look at
# are written out one by one in :meth:`_Month.exceptions`.
ROUTINE = {
    "Acme Logistics": [
        ("Troubleshooting", "Scanner on the loading dock saves nothing"),
        ("Troubleshooting", "Shared mailbox not showing in Outlook"),
        ("Troubleshooting", "OneDrive stuck on processing changes"),
        ("Troubleshooting", "Label printer prints garbage"),
        ("Troubleshooting", "Slow file share in the afternoon"),
        ("Troubleshooting", "Calendar invites arrive twice"),
        ("Troubleshooting", "Second screen flickers at the planning desk"),
        ("Password reset", "Reset password for reception"),
        ("Password reset", "Locked out of the ERP"),
        ("Password reset", "MFA prompt on a new phone"),
        ("Password reset", "Password expired during holiday"),
        ("User onboarding", "New planner joins the warehouse office"),
        ("User onboarding", "Account for the temporary receptionist"),
        ("Change request", "Add a second SSID for the warehouse scanners"),
        ("Change request", "Move the file share to SharePoint"),
        ("Security incident", "Suspicious sign-in from abroad"),
        ("New feature", "Dashboard of open orders for the warehouse"),
    ],
    "Brightside Dental": [
        ("Troubleshooting", "Dentrix slow at the front desk"),
        ("Troubleshooting", "Can't print from the tablet in room 2"),
        ("Troubleshooting", "Wi-Fi drops in the Harbour waiting room"),
        ("Troubleshooting", "Excel crashes opening the rota"),
        ("Troubleshooting", "Phone app won't sign in to mail"),
        ("User onboarding", "Set up laptop for the new dentist"),
        ("User onboarding", "Account for the locum hygienist"),
        ("User onboarding", "New receptionist at Harbour"),
        ("User onboarding", "Laptop for the practice manager's assistant"),
        ("Security incident", "Phishing mail clicked by a user"),
        ("Security incident", "Ransomware warning on a practice PC"),
        ("Password reset", "Reset password for the Harbour desk"),
        ("Password reset", "Locked out after three tries"),
        ("Password reset", "Reset the shared scanner account"),
    ],
    "Cobalt Architects": [
        ("Troubleshooting", "Revit license not found"),
        ("Troubleshooting", "Plot queue stuck"),
        ("Troubleshooting", "VPN slow from home"),
        ("Troubleshooting", "Teams won't share the screen"),
        ("Troubleshooting", "Laptop fan loud and hot"),
        ("Troubleshooting", "Mail to a client bounces"),
        ("Change request", "New shared folder structure for projects"),
        ("Change request", "Change the Wi-Fi password policy"),
        ("Change request", "Replace the guest Wi-Fi portal"),
        ("New feature", "Automated backup report by mail"),
        ("New feature", "Room booking screen by the meeting room"),
        ("Password reset", "Reset password for the new partner"),
        ("Password reset", "MFA reset after a phone swap"),
    ],
}

# What was done, written by whoever resolved the ticket (by its title).
RESOLUTION_NOTES = {
    "Scanner on the loading dock saves nothing": "Scan-to-folder still pointed at the old "
    "share on ACME-FS01. Pointed the profile at the new share and scanned a test page.",
    "Shared mailbox not showing in Outlook": "The user was missing from the mailbox's "
    "permission group after the move. Added them; automapping showed it within the hour.",
    "OneDrive stuck on processing changes": "A folder path longer than 260 characters blocked "
    "the sync. Shortened the folder names with the user and reset the client.",
    "Label printer prints garbage": "A Windows update replaced the vendor driver. Reinstalled "
    "the Zebra driver and excluded it from driver updates in Intune.",
    "Slow file share in the afternoon": "The backup job had drifted into office hours. Moved it "
    "back to 22:00 and checked the share's throughput the next afternoon.",
    "Calendar invites arrive twice": "An old delegate forwarding rule sent every invite again. "
    "Removed the rule; the delegate keeps access through the calendar permission.",
    "Second screen flickers at the planning desk": "Faulty USB-C cable to the dock. Replaced it "
    "and updated the dock firmware.",
    "Reset password for reception": "Reset in Entra ID, forced change at sign-in, and "
    "checked the shared reception mailbox still opens for the new password.",
    "Locked out of the ERP": "The ERP account locks after 5 tries and syncs from AD. "
    "Unlocked in AD and waited for the sync; told the user the ERP has its own lockout.",
    "MFA prompt on a new phone": "Re-registered the authenticator on the new phone after a "
    "call-back to the known number; removed the old device.",
    "Password expired during holiday": "Reset with a call-back to the user's known number; "
    "they changed it at first sign-in.",
    "New planner joins the warehouse office": "Account, mailbox and the planning group; laptop "
    "from stock with the WMS client. Badge requested from Joris.",
    "Account for the temporary receptionist": "Account with an end date (contract end), "
    "reception mailbox access, no access to the finance share.",
    "Add a second SSID for the warehouse scanners": "New SSID on VLAN 40 with WPA2-PSK for the "
    "scanners (they can't do certificates); PSK in the vault.",
    "Move the file share to SharePoint": "Moved the Projects share to SharePoint with the "
    "migration tool; the old share is read-only for 30 days, then removed.",
    "Suspicious sign-in from abroad": "The sign-in was the user's own phone on holiday "
    "roaming. Confirmed with the user; added a named location for the trip.",
    "Dashboard of open orders for the warehouse": "Power BI report on the WMS export, "
    "refreshed hourly, shared with the warehouse group. Approved by Alex first.",
    "Dentrix slow at the front desk": "The front-desk PC had the Dentrix cache on a full disk. "
    "Cleared it and moved the cache to the data disk.",
    "Can't print from the tablet in room 2": "The tablet was on the guest Wi-Fi. Moved it to "
    "the staff SSID with its certificate and printed a test page.",
    "Wi-Fi drops in the Harbour waiting room": "The access point rebooted on a failing PoE "
    "port. Moved it to another port; the switch port is disabled and labelled.",
    "Excel crashes opening the rota": "A broken COM add-in. Disabled it and repaired Office; "
    "the rota opens in seconds now.",
    "Phone app won't sign in to mail": "Conditional access needs the Outlook app, not the "
    "built-in mail app. Installed Outlook with the user.",
    "Set up laptop for the new dentist": "Laptop enrolled in Intune with the clinical profile, "
    "Dentrix client and X-ray viewer installed, account in the Dentists group.",
    "Account for the locum hygienist": "Account with an end date at the end of the locum "
    "contract; Dentrix user created by Ingrid.",
    "New receptionist at Harbour": "Account, mailbox and the Harbour desk PC profile; showed "
    "her the phone system's transfer button.",
    "Laptop for the practice manager's assistant": "Laptop from stock, standard profile, "
    "access to the HR folder as Ingrid asked by mail.",
    "Phishing mail clicked by a user": "Reset the password, revoked sessions, checked the "
    "sign-in log (nothing from outside NL) and purged the mail from every inbox.",
    "Ransomware warning on a practice PC": "Defender blocked a fake invoice's macro; nothing "
    "ran. Full scan clean, isolated and released the PC, told Dr. Visser the same day.",
    "Reset password for the Harbour desk": "Reset the Harbour desk account; the new password "
    "is in the practice's vault entry.",
    "Locked out after three tries": "Unlocked the account after a call-back; the lockout came "
    "from an old password saved on the user's phone.",
    "Reset the shared scanner account": "Reset the scanner's SMTP account and updated it on "
    "the scanner; test scan arrived.",
    "Revit license not found": "The license server's service had stopped after a reboot. "
    "Restarted it and set it to start automatically (delayed).",
    "Plot queue stuck": "A 2 GB PDF blocked the plotter queue. Cleared it and printed the "
    "drawing from the rasterised version.",
    "VPN slow from home": "The user's home router forced a small MTU. Lowered the VPN MTU in "
    "the profile for everyone; speed is normal now.",
    "Teams won't share the screen": "macOS screen-recording permission was missing for Teams "
    "after the OS update. Granted it with the user.",
    "Laptop fan loud and hot": "Dust in the fan. Cleaned it on site and updated the BIOS; "
    "temperatures are normal under load.",
    "Mail to a client bounces": "The client's domain rejected our mail for a missing DKIM "
    "record after the DNS move. Published the record; mail goes through.",
    "New shared folder structure for projects": "Created the per-project template folders "
    "with their permission groups, as agreed with the partners.",
    "Change the Wi-Fi password policy": "Guest Wi-Fi password now rotates monthly and is "
    "shown on the reception screen; staff SSID moved to certificate sign-in.",
    "Replace the guest Wi-Fi portal": "New captive portal with a daily code; the old portal "
    "VM is switched off.",
    "Automated backup report by mail": "The NAS mails a backup summary every Monday 07:00 to "
    "the partners; failures mail at once.",
    "Room booking screen by the meeting room": "Tablet in kiosk mode showing the room's "
    "Exchange calendar; booking from the screen works.",
    "Reset password for the new partner": "Reset with a call-back; registered MFA on the "
    "partner's phone at the same time.",
    "MFA reset after a phone swap": "Verified by a call to the known number, removed the old "
    "phone and registered the new one.",
    # The month's exceptions.
    "Teams calls choppy": "The meeting-room Wi-Fi AP was on a crowded 2.4 GHz channel. "
    "Moved it to 5 GHz and set QoS for Teams on the switch.",
    "Laptop won't boot": "BitLocker recovery after a BIOS update. Unlocked with the key from "
    "Intune, suspended BitLocker, finished the update; recovery key re-escrowed.",
    "Outlook keeps asking for a password": "Stale credentials in Credential Manager after the "
    "MFA change. Removed them, rebuilt the Outlook profile; the user confirmed mail syncs.",
    "Printer on 2nd floor offline": "The printer took a new DHCP address after the power cut. "
    "Gave it a reservation (.45) and re-added it on the print server.",
    "Printer at the Harbour practice jams": "Worn pickup roller. Replaced it from the spare "
    "kit and printed fifty pages without a jam.",
    "Order two docking stations": "Ordered two Dell WD19S through the distributor, "
    "delivered and tested with both laptops.",
    "Automate the weekly report": "Power Automate flow runs Mondays 07:00 and mails the "
    "report to the management list; the flow is owned by the IT service account.",
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
        "Block of hours: tell Ingrid when less than 3 h is left; top-ups are ordered by phone.\n"
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
     "Ask Ingrid for a top-up before less than 3 h is left."),
    ("Cobalt Architects",
     "No written terms for after-hours work: the T&M day rate is assumed for evenings.",
     Risk.Severity.LOW, "am",
     "Send Cobalt the after-hours addendum to sign."),
]  # fmt: skip
UNDOCUMENTED = ("dev2", 2)  # whose most recently resolved tickets keep no note, and how many
REOPENED_REQUEST_TYPE = "Troubleshooting"  # a fix that did not hold: the ticket reopened once


# --- the demo month -------------------------------------------------------------
WORK_START, WORK_END = datetime.time(8, 30), datetime.time(17, 30)
WORKDAY = 9 * 60  # working minutes in a day
HOUR = 60
DEMO_DAYS = 28  # tickets were opened over the last four weeks
# First response and resolution targets per priority (minutes, wall clock).
# Routine tickets answered 40 working minutes past their first-response
# target, so the service-level report and the review pack show missed targets.
LATE_ANSWERS = {"Slow file share in the afternoon", "Excel crashes opening the rota"}
SLA_TARGETS = {
    Priority.URGENT: (30, 4 * 60),
    Priority.HIGH: (60, 8 * 60),
    Priority.NORMAL: (4 * 60, 3 * 24 * 60),
    Priority.LOW: (24 * 60, 10 * 24 * 60),
}
# The demo contracts' SLA business hours: Monday to Friday 09:00–17:30 with the
# public holidays of the practice's country (by its timezone).
DEMO_SLA_HOURS = [[["09:00", "17:30"]]] * 5 + [[], []]
DEMO_HOLIDAY_COUNTRY = {"Europe/Amsterdam": "NL", "America/New_York": "US"}
# Tickets still open at the end of the seed are at most this far into their
# SLA windows (the flag sweep calls a target at risk from 75 %).
CALM_SHARE = 0.6
# Share of each contract's allowance the month's work draws: Acme's retainer
# stays well within its month; Brightside's block is nearly used up (its 80 %
# alert is one of the month's flags).
ALLOWANCE_USE = {"Acme Logistics": 0.6, "Brightside Dental": 0.87}
# Working time a routine ticket took, by request type (others: an hour to a day).
WORKING_TIME = {
    "Password reset": (15, HOUR),
    "New feature": (8 * HOUR, 3 * WORKDAY),
    "User onboarding": (3 * HOUR, 2 * WORKDAY),
}
LOGGED_AT = datetime.time(17, 15)  # time is logged at the end of the working day
WORK_NOTES = [
    "Remote session with the user",
    "Investigated",
    "Fixed and tested",
    "Called the user back",
    "On site",
    "Checked the logs",
]


@contextmanager
def _clock(at: datetime.datetime) -> Iterator[None]:
    """While seeding, "now" is ``at`` for everything that asks Django for it
    (services, model field defaults, ``auto_now``): the demo month is played
    through the real services at the times it happened. The ``datetime`` that
    ``django.utils.timezone.now`` reads is replaced, not the function, because
    field defaults keep the function itself. Follow-up work queued on commit
    (flag checks, mail) runs after the seed, at the real time."""

    class Then(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return at.astimezone(tz) if tz else at.replace(tzinfo=None)

    with mock.patch.object(django_timezone, "datetime", Then):
        yield


def _at(day: datetime.date, time: datetime.time, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=tz)


def _working_after(start: datetime.datetime, minutes: float, tz) -> datetime.datetime:
    """The moment ``minutes`` of working time (Monday to Friday, 08:30–17:30
    in the practice's timezone) after ``start``."""
    moment, left = start.astimezone(tz), minutes
    while True:
        day = moment.date()
        if day.weekday() >= 5 or moment.time() >= WORK_END:
            moment = _at(day + datetime.timedelta(days=1), WORK_START, tz)
            continue
        moment = max(moment, _at(day, WORK_START, tz))
        room = (_at(day, WORK_END, tz) - moment).total_seconds() / 60
        if left <= room:
            return moment + datetime.timedelta(minutes=left)
        left -= room
        moment = _at(day + datetime.timedelta(days=1), WORK_START, tz)


def _working_before(end: datetime.datetime, minutes: float, tz) -> datetime.datetime:
    """The moment ``minutes`` of working time before ``end``."""
    moment, left = end.astimezone(tz), minutes
    while True:
        day = moment.date()
        if day.weekday() >= 5 or moment.time() <= WORK_START:
            moment = _at(day - datetime.timedelta(days=1), WORK_END, tz)
            continue
        moment = min(moment, _at(day, WORK_END, tz))
        room = (moment - _at(day, WORK_START, tz)).total_seconds() / 60
        if left <= room:
            return moment - datetime.timedelta(minutes=left)
        left -= room
        moment = _at(day - datetime.timedelta(days=1), WORK_END, tz)


def _working_minutes(start: datetime.datetime, end: datetime.datetime, tz) -> float:
    """Working minutes between ``start`` and ``end``."""
    total, moment = 0.0, _working_after(start, 0, tz)
    while moment < end:
        closing = _at(moment.date(), WORK_END, tz)
        total += (min(end, closing) - moment).total_seconds() / 60
        moment = _working_after(closing, 0, tz)
    return total


def _calm_priority(age: datetime.timedelta, *, responded: bool, preferred: str) -> str | None:
    """The first of ``preferred``, normal and low under which a ticket open
    for ``age`` is still calm (see CALM_SHARE); None if none is."""
    for priority in (preferred, Priority.NORMAL, Priority.LOW):
        response, resolution = SLA_TARGETS[priority]
        minutes = age.total_seconds() / 60
        if minutes < CALM_SHARE * resolution and (responded or minutes < CALM_SHARE * response):
            return priority
    return None


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` minutes in ``parts`` entries of whole 5 minutes (at least 5)."""
    parts = max(1, min(parts, total // 5))
    cuts = sorted(rng.sample(range(1, total // 5), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, total // 5]
    minutes = [(b - a) * 5 for a, b in itertools.pairwise(bounds)]
    minutes[-1] += total % 5
    return minutes


@dataclass
class _Story:
    """One ticket of the month: the ticket once opened, whether its minutes
    draw on the client's allowance, and when it was resolved."""

    client: str
    title: str
    assignee: str
    counts: bool = True
    ticket: Ticket | None = None
    resolved_at: datetime.datetime | None = None


@dataclass
class _Routine:
    """A routine ticket as planned: what, for whom, when, and its minutes."""

    client: str
    kind: str
    title: str
    opened: datetime.datetime
    treatment: str
    expected: int  # the rule's, on the day it was opened
    minutes: int


class _Month:
    """Northwind's last four weeks, planned and then played in time order
    through the services (:func:`_clock`): tickets opened at working hours,
    answered, decided, worked on working days and resolved in time — and the
    handful of exceptions a person acts on (:meth:`exceptions`)."""

    def __init__(self, org, members, clients, types, rng, now):
        self.org, self.members, self.clients, self.types = org, members, clients, types
        self.rng, self.now, self.tz = rng, now, org.tzinfo
        self.today = timezone.localtime(now, self.tz).date()
        self.events: list[tuple[datetime.datetime, int, Callable[[], None]]] = []
        self.stories: list[_Story] = []
        self.drawn = dict.fromkeys(clients, 0)  # allowance minutes planned per client
        self.undocumented: set[int] = set()  # stories resolved without a note

    # --- planning ------------------------------------------------------------
    def back(self, minutes: float) -> datetime.datetime:
        """``minutes`` of working time before now."""
        return _working_before(self.now, minutes, self.tz).replace(second=0, microsecond=0)

    def after(self, start: datetime.datetime, minutes: float) -> datetime.datetime:
        return _working_after(start, minutes, self.tz).replace(second=0, microsecond=0)

    def at(self, when: datetime.datetime, action: Callable[[], None]) -> None:
        """Do ``action`` at ``when`` when the month is played."""
        if when > self.now:
            raise ValueError(f"The demo month can't plan {when}: it is in the future.")
        self.events.append((when, len(self.events), action))

    def open(
        self,
        when,
        *,
        client,
        kind,
        title,
        assignee,
        priority=Priority.NORMAL,
        source=Ticket.Source.PORTAL,
        opened_by=None,
        counts=True,
    ) -> _Story:
        story = _Story(client=client, title=title, assignee=assignee, counts=counts)
        self.stories.append(story)

        def act():
            story.ticket = ticket_open(
                organization=self.org,
                opened_by=self.members[opened_by] if opened_by else None,
                client=self.clients[client],
                request_type=self.types[kind],
                title=title,
                priority=priority,
                source=source,
                assignee=self.members[assignee],
                opened_at=when,
            )

        self.at(when, act)
        return story

    def open_calm(self, when, *, responded: bool, preferred=Priority.NORMAL, **kwargs) -> _Story:
        """Open a ticket that is still open at the end: at a priority whose
        SLA windows it is calm in (the caller made sure one is)."""
        priority = _calm_priority(self.now - when, responded=responded, preferred=preferred)
        return self.open(when, priority=priority or Priority.LOW, **kwargs)

    def _current(self, story: _Story) -> Ticket:
        story.ticket.refresh_from_db()
        return story.ticket

    def update(self, story: _Story, when, **changes) -> None:
        def act():
            ticket = self._current(story)
            ticket_update(
                ticket=ticket,
                actor=self.members[story.assignee],
                version=ticket.version,
                **changes,
            )

        self.at(when, act)

    def decide(self, story: _Story, when, classification: str = "", **kwargs) -> None:
        """The assignee's decision; without a classification, the one the
        rule suggests."""

        def act():
            ticket = self._current(story)
            decision_record(
                ticket=ticket,
                actor=self.members[story.assignee],
                classification=classification
                or ticket_rule(ticket=ticket).suggested_classification,
                version=ticket.version,
                **kwargs,
            )

        self.at(when, act)

    def _check(self, story: _Story) -> ScopeCheck:
        return ScopeCheck.objects.get(
            organization=self.org, ticket=story.ticket, status__in=ScopeCheck.OPEN_STATUSES
        )

    def approve(self, story: _Story, when) -> None:
        self.at(
            when, lambda: scope_check_approve(check=self._check(story), actor=self.members["am"])
        )

    def ask_client(self, story: _Story, when, email: str) -> None:
        def act():
            scope_check_ask_client(
                check=self._check(story),
                actor=self.members["am"],
                client_email=email,
                link_url=lambda token: absolute_url(
                    reverse("public:client_scope_check", kwargs={"token": token})
                ),
            )

        self.at(when, act)

    def client_approves(self, story: _Story, when, name: str) -> None:
        def act():
            token = scope_check_client_link(check=self._check(story))
            scope_check_client_answer(token=token, approve=True, name=name, ip=None)

        self.at(when, act)

    def log(self, story: _Story, when, minutes: int, notes: str, *, work_date=None) -> None:
        """Time logged at ``when`` (entered then) for work on ``work_date``
        (the same day unless given)."""
        if story.counts:
            self.drawn[story.client] += minutes
        day = work_date or timezone.localtime(when, self.tz).date()

        def act():
            time_entry_log(
                ticket=self._current(story),
                person=self.members[story.assignee],
                work_date=day,
                minutes=minutes,
                notes=notes,
            )

        self.at(when, act)

    def resolve(self, story: _Story, when, status=Ticket.Status.RESOLVED) -> None:
        story.resolved_at = when

        def act():
            note = (
                ""
                if id(story) in self.undocumented
                else RESOLUTION_NOTES.get(story.title, DEFAULT_RESOLUTION_NOTE)
            )
            ticket = self._current(story)
            ticket_update(
                ticket=ticket,
                actor=self.members[story.assignee],
                version=ticket.version,
                status=status,
                resolution_note=note,
            )

        self.at(when, act)

    # --- the month -------------------------------------------------------------
    def plan(self) -> None:
        self.exceptions()
        self.routine()
        person, how_many = UNDOCUMENTED
        resolved = sorted(
            (s for s in self.stories if s.assignee == person and s.resolved_at),
            key=lambda s: s.resolved_at,
        )
        self.undocumented = {id(s) for s in resolved[-how_many:]}

    def play(self) -> None:
        for when, _, action in sorted(self.events, key=lambda event: event[:2]):
            with _clock(when):
                action()

    def exceptions(self) -> None:
        """What a person acts on this week, ticket by ticket: two tickets over
        their expected time (one past its approval threshold), work logged
        without a decision, work under the catch-all type, time entered days
        late, a scope check waiting since last week and one waiting for the
        client, an unclear decision; questions still open for Dana (dev) —
        and the month's unusual but settled calls (a write-off, a rule
        overridden, a change the client approved through the signed link)."""
        back, after, minute = self.back, self.after, datetime.timedelta(minutes=1)

        # Past its expected hour; Dana's question: still covered?
        opened = back(WORKDAY + 4 * HOUR)
        vpn = self.open_calm(
            opened,
            responded=True,
            client="Acme Logistics",
            kind="Troubleshooting",
            title="VPN drops every hour",
            assignee="dev",
            source=Ticket.Source.PHONE,
            opened_by="am",
        )
        self.update(vpn, opened + 15 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(vpn, opened + 20 * minute)
        self.log(
            vpn, back(WORKDAY + 2 * HOUR), 45, "Checked the FortiGate logs: drops at each rekey"
        )
        self.log(vpn, back(HOUR), 45, "Tested a new profile with two users")

        # Past the approval threshold without approval: Alex's to approve.
        opened = back(4 * WORKDAY)
        teams = self.open(
            opened,
            client="Acme Logistics",
            kind="Troubleshooting",
            title="Teams calls choppy",
            assignee="dev2",
            priority=Priority.LOW,
        )
        self.update(teams, opened + 30 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(teams, opened + 35 * minute)
        self.log(teams, back(3 * WORKDAY - 2 * HOUR), 60, "Checked the meeting-room AP and switch")
        self.log(teams, back(2 * WORKDAY - 2 * HOUR), 60, "Moved the AP to 5 GHz, tested calls")
        self.decide(teams, back(2 * WORKDAY - 2 * HOUR - 5), reason="Still the same fault.")
        # Waited a day for the client to test calls: the SLA clock stood still.
        self.update(teams, back(2 * WORKDAY - 2 * HOUR - 10), status=Ticket.Status.WAITING)
        self.update(teams, back(WORKDAY - 2 * HOUR), status=Ticket.Status.IN_PROGRESS)
        self.log(teams, back(WORKDAY - 3 * HOUR), 80, "Set QoS for Teams on the switch")
        self.resolve(teams, back(WORKDAY - 3 * HOUR - 5))

        # New this morning (or the last working hour): Dana has not looked yet.
        opened = back(40)
        fresh = _calm_priority(self.now - opened, responded=False, preferred=Priority.NORMAL)
        plotter = self.open_calm(
            opened,
            responded=fresh is None,
            client="Cobalt Architects",
            kind="Troubleshooting",
            title="Plotter prints blank pages",
            assignee="dev",
            source=Ticket.Source.EMAIL,
        )
        if fresh is None:  # seeded out of hours: answered before the office closed
            self.update(plotter, opened + 20 * minute, status=Ticket.Status.IN_PROGRESS)

        # Answered, not yet decided: Dana's second question.
        opened = back(5 * HOUR)
        xray = self.open_calm(
            opened,
            responded=True,
            client="Brightside Dental",
            kind="Troubleshooting",
            title="X-ray PC can't reach the imaging server",
            assignee="dev",
            source=Ticket.Source.PHONE,
            opened_by="am",
        )
        self.update(xray, opened + 15 * minute, status=Ticket.Status.IN_PROGRESS)

        # Time logged, no decision: Sam forgot the prompt.
        opened = back(7 * HOUR)
        hygienist = self.open_calm(
            opened,
            responded=True,
            client="Brightside Dental",
            kind="User onboarding",
            title="New hygienist starts Monday",
            assignee="dev2",
        )
        self.update(hygienist, opened + 30 * minute, status=Ticket.Status.IN_PROGRESS)
        self.log(
            hygienist, back(2 * HOUR), 45, "Created the account and mailbox; laptop from stock"
        )

        # Needs approval, waiting for Alex since last week (stale in the review).
        opened = back(3 * WORKDAY + 3 * HOUR)
        export = self.open_calm(
            opened,
            responded=True,
            preferred=Priority.LOW,
            client="Acme Logistics",
            kind="New feature",
            title="Add a shipment export to the portal",
            assignee="dev",
            source=Ticket.Source.EMAIL,
            opened_by="am",
            counts=False,
        )
        self.update(export, opened + 20 * minute, status=Ticket.Status.IN_PROGRESS)
        self.log(export, after(opened, HOUR), 30, "Looked at the portal's import format")
        self.decide(
            export,
            after(opened, HOUR + 10),
            "needs_approval",
            reason="A new export for the portal is new development, not support.",
            scope_check=ScopeCheckRequest(estimate_minutes=8 * HOUR),
        )
        self.update(export, after(opened, HOUR + 15), status=Ticket.Status.WAITING)

        # Needs approval; Alex asked the client, who has not answered yet.
        opened = back(6 * HOUR)
        booking = self.open_calm(
            opened,
            responded=True,
            preferred=Priority.LOW,
            client="Brightside Dental",
            kind="New feature",
            title="Online booking on the practice website",
            assignee="dev2",
            source=Ticket.Source.EMAIL,
            counts=False,
        )
        self.update(booking, opened + 15 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(
            booking,
            opened + 45 * minute,
            "needs_approval",
            reason="Ingrid asks for online booking: new work, not support.",
            scope_check=ScopeCheckRequest(estimate_minutes=6 * HOUR),
        )
        self.ask_client(booking, back(2 * HOUR), "ingrid@brightside.example")
        self.update(booking, back(2 * HOUR - 5), status=Ticket.Status.WAITING)

        # Work under the catch-all type (the review asks for a better type).
        opened = back(10 * WORKDAY + 2 * HOUR)
        projector = self.open(
            opened,
            client="Cobalt Architects",
            kind="Other",
            title="Misc. help with the projector",
            assignee="dev",
            source=Ticket.Source.CHAT,
            counts=False,
        )
        self.update(projector, opened + 10 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(
            projector,
            opened + 15 * minute,
            "billable",
            reason="Cobalt is on time and materials: any help is billed.",
        )
        self.log(projector, after(opened, HOUR), 30, "On site: swapped the HDMI adapter")
        self.resolve(projector, after(opened, HOUR + 5), Ticket.Status.CLOSED)

        # Time entered four days after the work.
        opened = back(8 * WORKDAY)
        jams = self.open(
            opened,
            client="Brightside Dental",
            kind="Troubleshooting",
            title="Printer at the Harbour practice jams",
            assignee="dev2",
        )
        self.update(jams, opened + 20 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(jams, opened + 25 * minute)
        self.resolve(jams, after(opened, 2 * HOUR))
        worked_on = timezone.localtime(after(opened, 2 * HOUR), self.tz).date()
        self.log(
            jams,
            after(opened, 4 * WORKDAY + 2 * HOUR),
            30,
            "Replaced the pickup roller",
            work_date=worked_on,
        )

        # Decided unclear: the weekly review settles it.
        opened = back(6 * WORKDAY)
        outlook = self.open(
            opened,
            client="Acme Logistics",
            kind="Troubleshooting",
            title="Outlook keeps asking for a password",
            assignee="dev2",
        )
        self.update(outlook, opened + 25 * minute, status=Ticket.Status.IN_PROGRESS)
        self.log(
            outlook, after(opened, 2 * HOUR), 40, "Removed stale credentials, rebuilt the profile"
        )
        self.decide(
            outlook,
            after(opened, 2 * HOUR + 5),
            "unclear",
            reason="The client changed its MFA policy itself: is fixing the fallout covered?",
        )
        self.resolve(outlook, after(opened, 2 * HOUR + 10))

        # Settled, but unusual: a write-off, an overridden rule, a change the
        # client approved through the signed link.
        opened = back(12 * WORKDAY)
        docks = self.open(
            opened,
            client="Acme Logistics",
            kind="Hardware procurement",
            title="Order two docking stations",
            assignee="dev",
            priority=Priority.LOW,
            counts=False,
        )
        self.update(docks, opened + 30 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(
            docks,
            opened + 35 * minute,
            "included",
            write_off=True,
            reason="Ordered together with their new laptops: not worth an invoice line.",
        )
        self.log(docks, after(opened, 3 * HOUR), 30, "Ordered through the distributor")
        self.resolve(docks, after(opened, 3 * WORKDAY), Ticket.Status.CLOSED)

        opened = back(9 * WORKDAY)
        boot = self.open(
            opened,
            client="Acme Logistics",
            kind="Troubleshooting",
            title="Laptop won't boot",
            assignee="dev2",
            priority=Priority.HIGH,
            counts=False,
        )
        self.update(boot, opened + 10 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(
            boot,
            opened + 15 * minute,
            "billable",
            reason="The client's own BIOS update outside our support broke it.",
        )
        self.log(boot, opened + 70 * minute, 45, "Unlocked BitLocker, finished the update")
        self.resolve(boot, opened + 75 * minute, Ticket.Status.CLOSED)

        opened = back(15 * WORKDAY)
        report = self.open(
            opened,
            client="Acme Logistics",
            kind="New feature",
            title="Automate the weekly report",
            assignee="dev",
            priority=Priority.LOW,
            opened_by="am",
            counts=False,
        )
        self.update(report, opened + 20 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(
            report,
            opened + 40 * minute,
            "needs_approval",
            reason="A new automated report is new work, not support.",
            scope_check=ScopeCheckRequest(estimate_minutes=4 * HOUR),
        )
        self.ask_client(report, after(opened, 2 * HOUR), "pieter@acme.example")
        self.client_approves(report, after(opened, WORKDAY + HOUR), "Pieter de Vries")
        self.log(report, after(opened, 2 * WORKDAY), 90, "Built the flow and the report query")
        self.log(report, after(opened, 3 * WORKDAY - HOUR), 105, "Tested with Pieter, handed over")
        self.resolve(report, after(opened, 3 * WORKDAY - HOUR + 5), Ticket.Status.CLOSED)

        # The fix that did not hold: the seed reopens it (``_transitions``).
        opened = back(WORKDAY + 6 * HOUR)
        printer = self.open_calm(
            opened,
            responded=True,
            client="Acme Logistics",
            kind="Troubleshooting",
            title="Printer on 2nd floor offline",
            assignee="dev",
        )
        self.update(printer, opened + 20 * minute, status=Ticket.Status.IN_PROGRESS)
        self.decide(printer, opened + 25 * minute)
        self.log(printer, back(3 * HOUR + 10), 40, "Reserved the printer's address, re-added it")
        self.resolve(printer, back(3 * HOUR))

        # The real process under pressure: a direct message handled at once,
        # logged after the fact (ticket, time and decision in one step).
        mfa = _Story(
            client="Acme Logistics",
            title="Reset MFA for the CFO (asked on WhatsApp)",
            assignee="dev",
        )
        self.stories.append(mfa)
        self.drawn[mfa.client] += 15
        handled = back(90)

        def after_the_fact():
            mfa.ticket = work_log_after_the_fact(
                organization=self.org,
                actor=self.members["dev"],
                client=self.clients[mfa.client],
                request_type=self.types["Password reset"],
                title=mfa.title,
                minutes=15,
                work_date=timezone.localtime(handled, self.tz).date(),
                source=Ticket.Source.DIRECT_MESSAGE,
            ).ticket

        self.at(handled, after_the_fact)
        self.resolve(mfa, handled + 2 * minute)

    def routine(self) -> None:
        """The tickets that went well, opened at random working moments of the
        four weeks up to three working days ago (so each was done by now),
        each worked within its expected time; the minutes are balanced so each
        contract draws its share (ALLOWANCE_USE) of its allowance."""
        rng, tz = self.rng, self.tz
        first = self.after(
            _at(self.today - datetime.timedelta(days=DEMO_DAYS - 1), WORK_START, tz), 0
        )
        span = int(_working_minutes(first, self.back(3 * WORKDAY), tz))
        tickets = [
            (client, kind, title) for client, rows in ROUTINE.items() for kind, title in rows
        ]
        rng.shuffle(tickets)
        moments = sorted(self.after(first, rng.randrange(span)) for _ in tickets)
        plans = []
        for (client, kind, title), opened in zip(tickets, moments, strict=True):
            treatment, expected = self._rule(client, kind, opened.date())
            minutes = round(expected * rng.uniform(0.35, 0.8) / 5) * 5
            plans.append(
                _Routine(client, kind, title, opened, treatment, expected, max(10, minutes))
            )
        self._balance(plans)
        for plan in plans:
            self._routine_ticket(plan)

    def _rule(self, client: str, kind: str, on: datetime.date) -> tuple[str, int]:
        """The treatment and expected minutes of ``kind`` for ``client`` on ``on``."""
        spec = next(c for c in CLIENTS if c["name"] == client)
        _, treatment, expected, _ = next(r for r in REQUEST_TYPES if r[0] == kind)
        if kind in spec["rules"]:
            treatment, expected = spec["rules"][kind][:2]
        weeks_ago, changes = spec.get("revised", {}).get(kind, (None, {}))
        if weeks_ago is not None and on >= self.today - datetime.timedelta(weeks=weeks_ago):
            expected = changes.get("expected_minutes", expected)
        return treatment, expected

    def _balance(self, plans: list["_Routine"]) -> None:
        """Nudge the included tickets' minutes (5 at a time, within 10 and
        their expected time) until each contract with an allowance draws its
        share of it."""
        for client, share in ALLOWANCE_USE.items():
            spec = next(c for c in CLIENTS if c["name"] == client)
            allowance = spec["terms"]["included_minutes"] + sum(
                minutes for _, minutes, _, _ in spec.get("top_ups", ())
            )
            ours = [p for p in plans if p.client == client and p.treatment == Treatment.INCLUDED]
            gap = round(share * allowance) - self.drawn[client] - sum(p.minutes for p in ours)
            step = 5 if gap > 0 else -5
            while abs(gap) >= 5:
                room = [p for p in ours if 10 <= p.minutes + step <= p.expected]
                if not room:
                    break
                self.rng.choice(room).minutes += step
                gap -= step

    def _routine_ticket(self, plan: "_Routine") -> None:
        """Opened, answered in time, decided as the rule says (a new feature
        approved by Alex first), worked on its working days, resolved."""
        rng, after = self.rng, self.after
        needs_approval = plan.treatment == Treatment.NEEDS_APPROVAL
        if needs_approval or plan.kind == "Change request":
            priority = Priority.LOW
        elif plan.kind == "Security incident":
            priority = rng.choice([Priority.HIGH, Priority.URGENT])
        else:
            priority = rng.choices([Priority.NORMAL, Priority.HIGH, Priority.LOW], [6, 2, 2])[0]
        source = rng.choices([s for s, _ in Ticket.Source.choices], [3, 3, 2, 1, 1, 1])[0]
        assignee = rng.choice(["dev", "dev2"])
        story = self.open(
            plan.opened,
            client=plan.client,
            kind=plan.kind,
            title=plan.title,
            assignee=assignee,
            priority=priority,
            source=source,
            opened_by="am" if source == Ticket.Source.PHONE else assignee,
            counts=plan.treatment == Treatment.INCLUDED,
        )
        response, _ = SLA_TARGETS[priority]
        # Answered within about an hour of working time; near closing time,
        # or when it is urgent, the same evening.
        wait = rng.randint(5, max(10, min(90, response // 3)))
        responded = after(plan.opened, wait)
        if (responded - plan.opened).total_seconds() / 60 > response / 2:
            responded = plan.opened + datetime.timedelta(minutes=wait)
        if plan.title in LATE_ANSWERS:
            responded = after(plan.opened, response + 40)  # a missed target, on the SLA clock
        self.update(story, responded, status=Ticket.Status.IN_PROGRESS)
        started = responded + datetime.timedelta(minutes=rng.randint(2, 10))
        if needs_approval:
            self.decide(
                story,
                started,
                "needs_approval",
                reason="The client wants something new, not a fix.",
                scope_check=ScopeCheckRequest(estimate_minutes=4 * HOUR),
            )
            started = after(started, rng.randint(30, 180))
            self.approve(story, started)
        else:
            self.decide(story, started)
        resolved = self._done_at(plan, priority, started)
        days = [
            day
            for day in (
                started.date() + datetime.timedelta(days=n)
                for n in range((resolved.date() - started.date()).days + 1)
            )
            if day.weekday() < 5 or day == resolved.date()
        ]
        if len(days) > 3:
            days = [days[0], days[len(days) // 2], days[-1]]
        entries = _split(plan.minutes, len(days), rng)
        for day, minutes in zip(days[-len(entries) :], entries, strict=True):
            logged = (  # at the end of that working day, or just before resolving
                resolved - datetime.timedelta(minutes=3)
                if day == resolved.date()
                else max(_at(day, LOGGED_AT, self.tz), started + datetime.timedelta(minutes=5))
            )
            self.log(story, logged, minutes, rng.choice(WORK_NOTES))
        done_long_ago = self.now - resolved > datetime.timedelta(days=5)
        self.resolve(
            story, resolved, Ticket.Status.CLOSED if done_long_ago else Ticket.Status.RESOLVED
        )

    def _done_at(self, plan: "_Routine", priority: str, started) -> datetime.datetime:
        """When the work was done: urgent and high tickets within their
        resolution target (worked into the evening if need be), the others
        after some working time, well inside their target and before now."""
        _, resolution = SLA_TARGETS[priority]
        if priority in (Priority.URGENT, Priority.HIGH):
            minutes = resolution * self.rng.uniform(0.3, 0.7)
            return (started + datetime.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
        working = self.rng.randint(*WORKING_TIME.get(plan.kind, (HOUR, WORKDAY)))
        latest = self.back(2 * HOUR)
        resolved = self.after(started, working)
        while working > 30 and (
            (resolved - plan.opened).total_seconds() / 60 > 0.85 * resolution or resolved > latest
        ):
            working = working * 2 // 3
            resolved = self.after(started, working)
        return resolved


def _summary(org: Organization, queue: ReviewQueue) -> str:
    """What the demo practice holds, in one line."""
    tickets = Ticket.objects.filter(organization=org).count()
    entries = TimeEntry.objects.filter(organization=org).count()
    flags = ExceptionFlag.objects.filter(organization=org, status=ExceptionFlag.Status.OPEN)
    waiting = ScopeCheck.objects.filter(organization=org, status__in=ScopeCheck.OPEN_STATUSES)
    review = ReviewItem.objects.filter(organization=org, queue=queue, status="open")
    questions = (  # dev's tickets waiting for a billing decision
        BillingMoment.objects.filter(
            organization=org,
            status=BillingMoment.Status.OPEN,
            ticket__assignee__user__username="dev",
        )
        .values("ticket")
        .distinct()
    )
    return (
        f"{org.name}: {tickets} tickets, {entries} time entries, {flags.count()} open flags,"
        f" {waiting.count()} scope checks waiting, {review.count()} items in this week's"
        f" review, {questions.count()} open questions for dev."
    )


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
                summaries = [self._jobs(practice) for practice in PRACTICES if practice["domain"]]
        finally:
            celery_app.conf.task_always_eager = eager
            trace_logger.setLevel(trace_level)
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for slug, username, role in rows:
            self.stdout.write(f"  {username:<15} {role:<16} /o/{slug}/")
        for summary in summaries:
            self.stdout.write(summary)

    def _jobs(self, practice: dict) -> str:
        """Run what the beat would run on the demo practice — the flag sweep,
        overdue recurring work, this week's review — and say what the demo
        holds."""
        organization = Organization.objects.get(slug=practice["slug"])
        with activate_organization(organization):
            flags_sweep(organization=organization)
            recurring_overdue_flags(organization=organization)
            queue = review_queue_build(organization=organization).queue
            # Each contract's review pack for the review period holding the
            # demo month's middle, so the packs hold the month's work.
            middle = organization_today(organization) - datetime.timedelta(days=14)
            for contract in Contract.objects.filter(organization=organization).order_by("pk"):
                review_pack_prepare(contract=contract, on=max(middle, contract.starts_on))
            return _summary(organization, queue)

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
        """The catalogue, clients, contracts and rules (each made on the day
        it was agreed), then the month (:class:`_Month`)."""
        rng = random.Random(2026)
        now = timezone.now()
        tz = org.tzinfo
        today = timezone.localtime(now, tz).date()
        a_year_ago = today.replace(day=1) - datetime.timedelta(days=365)
        Membership.objects.filter(organization=org, role=Role.DEVELOPER).update(
            cost_rate=Decimal("55.00")
        )
        with _clock(_at(a_year_ago, datetime.time(9, 0), tz)):
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
        clients = {}
        for spec in CLIENTS:
            weeks = spec.get("since_weeks")
            start = today - datetime.timedelta(weeks=weeks) if weeks else a_year_ago
            with _clock(_at(start, datetime.time(9, 0), tz)):
                clients[spec["name"]] = self._client(org, members, types, spec, start, today)
            for weeks_ago, minutes, price, note in spec.get("top_ups", ()):
                added_on = today - datetime.timedelta(weeks=weeks_ago)
                with _clock(_at(added_on, datetime.time(11, 0), tz)):
                    block_top_up_create(
                        organization=org,
                        contract=Contract.objects.get(
                            organization=org, client=clients[spec["name"]]
                        ),
                        added_on=added_on,
                        minutes=minutes,
                        price=price,
                        note=note,
                    )
        month = _Month(org, members, clients, types, rng, now)
        month.plan()
        month.play()

    def _client(self, org, members, types, spec: dict, start: datetime.date, today) -> Client:
        """A client with its contract, scope rules and SLA targets, as agreed
        on ``start``; a rule revised later is revised on its own day."""
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
                # The rule changed some weeks ago: a second revision, made as
                # the account manager made it that day, so the history shows
                # and older work keeps the first revision.
                weeks_ago, changes = spec["revised"][name]
                changed_on = today - datetime.timedelta(weeks=weeks_ago)
                with _clock(_at(changed_on, datetime.time(10, 0), org.tzinfo)):
                    scope_rule_update(
                        scope_rule=rule, data=changes, effective_from=changed_on, today=changed_on
                    )
        for priority, (response, resolution) in SLA_TARGETS.items():
            sla_target_create(
                organization=org,
                contract=contract,
                priority=priority,
                first_response_minutes=response,
                resolution_minutes=resolution,
            )
        # Business hours from the contract's start, before any ticket opens.
        sla_calendar_set(
            contract=contract,
            data={
                "hours": DEMO_SLA_HOURS,
                "holiday_country": DEMO_HOLIDAY_COUNTRY.get(org.timezone, ""),
            },
            actor=members["am"],
        )
        return client

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
