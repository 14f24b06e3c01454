"""Billing test helpers: decide and log time through the services."""

import datetime

from billing.services import decision_record, time_entry_log
from msops.tenancy.scoping import activate_organization
from tickets.services import organization_today


def decide(ticket, actor, classification, **kwargs):
    """A decision on the ticket as it is now (its current version)."""
    ticket.refresh_from_db()
    return decision_record(
        ticket=ticket, actor=actor, classification=classification, version=ticket.version, **kwargs
    )


def log(ticket, person, minutes, days_ago=0, **kwargs):
    """Log ``minutes`` ``days_ago`` days before today (the organization's)."""
    return time_entry_log(
        ticket=ticket,
        person=person,
        work_date=organization_today(ticket.organization) - datetime.timedelta(days=days_ago),
        minutes=minutes,
        **kwargs,
    ).entry


def decided_entry(org, open_ticket, person, minutes=40):
    """A ticket with one entry of today, decided included: (ticket, entry)."""
    with activate_organization(org):
        ticket = open_ticket()
        entry = log(ticket, person, minutes)
        decide(ticket, person, "included")
        ticket.refresh_from_db()
    return ticket, entry
