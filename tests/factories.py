"""factory_boy factories. Tenant rows are created with scopes off (test code);
every factory that makes a tenant row takes ``organization``."""

import factory
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from msops.tenancy.models import Membership, Organization, Role
from msops.tenancy.services import api_token_create

PASSWORD = "correct horse battery staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    timezone = "Europe/Amsterdam"
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.DEVELOPER


def token_for(membership: Membership, name: str = "test token") -> str:
    with scopes_disabled():
        return api_token_create(membership=membership, name=name).raw


# --- clients ----------------------------------------------------------------
import datetime  # noqa: E402
from decimal import Decimal  # noqa: E402

from clients.models import (  # noqa: E402
    Client,
    Contract,
    ContractRevision,
    RequestType,
    ScopeRule,
    SLATarget,
    Treatment,
)
from tickets.models import BillingMoment, Ticket, TimeEntry  # noqa: E402


class ClientFactory(TenantFactory):
    class Meta:
        model = Client

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Client {n}")
    status = Client.Status.ACTIVE
    billing_notes = "Invoice monthly; PO number required."


class ContractFactory(TenantFactory):
    class Meta:
        model = Contract

    client = factory.SubFactory(ClientFactory)
    organization = factory.SelfAttribute("client.organization")
    name = "Support agreement"
    kind = Contract.Kind.RETAINER
    starts_on = datetime.date(2025, 1, 1)
    currency = "EUR"


class ContractRevisionFactory(TenantFactory):
    class Meta:
        model = ContractRevision

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    effective_from = factory.SelfAttribute("contract.starts_on")
    fee = Decimal("2000.00")
    included_minutes = 20 * 60
    hourly_rate = Decimal("120.00")
    overage_rate = Decimal("140.00")


class RequestTypeFactory(TenantFactory):
    class Meta:
        model = RequestType

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Request type {n}")
    default_treatment = Treatment.INCLUDED
    expected_minutes = 60


class ScopeRuleFactory(TenantFactory):
    class Meta:
        model = ScopeRule

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    request_type = factory.SubFactory(
        RequestTypeFactory, organization=factory.SelfAttribute("..organization")
    )
    treatment = Treatment.INCLUDED
    expected_minutes = 60
    explanation = "Covered by the support agreement."
    # The first revision of a rule: in force from the contract's first day.
    effective_from = factory.SelfAttribute("contract.starts_on")


class SLATargetFactory(TenantFactory):
    class Meta:
        model = SLATarget

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    priority = "normal"
    first_response_minutes = 60
    resolution_minutes = 8 * 60


# --- tickets ----------------------------------------------------------------
class TicketFactory(TenantFactory):
    """A ticket row made directly (tests of services use the services)."""

    class Meta:
        model = Ticket

    client = factory.SubFactory(ClientFactory)
    organization = factory.SelfAttribute("client.organization")
    request_type = factory.SubFactory(
        RequestTypeFactory, organization=factory.SelfAttribute("..organization")
    )
    # Clear of the numbers ticket_open hands out (1, 2, … per practice) and
    # of the ranges tests pick by hand (1000s, 2000, 100_000s).
    number = factory.Sequence(lambda n: 500_000 + n)
    title = factory.Sequence(lambda n: f"Printer on floor {n} offline")


class TimeEntryFactory(TenantFactory):
    class Meta:
        model = TimeEntry
        skip_postgeneration_save = True

    ticket = factory.SubFactory(TicketFactory)
    organization = factory.SelfAttribute("ticket.organization")
    person = factory.SubFactory(
        MembershipFactory, organization=factory.SelfAttribute("..organization")
    )
    work_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=1))
    minutes = 30
    notes = "Checked the spooler."

    @factory.post_generation
    def portion(self, create, extracted, **kwargs):
        """Time written behind the services' back (imports, old data) still
        has its minutes' meaning: one portion with the entry's status, under
        the rule in force on its work date (``portion=False``: none)."""
        if not create or extracted is False:
            return
        from billing.models import EntryPortion
        from tickets.selectors import ticket_rule

        with scopes_disabled():
            applied = ticket_rule(ticket=self.ticket, on=self.work_date)
            EntryPortion.objects.create(
                organization_id=self.organization_id,
                entry=self,
                ticket_id=self.ticket_id,
                minutes=self.minutes,
                work_date=self.work_date,
                status=self.billing_status,
                contract=applied.contract,
                contract_revision=applied.revision,
                scope_rule=applied.rule,
                treatment=applied.treatment,
            )


class BillingMomentFactory(TenantFactory):
    class Meta:
        model = BillingMoment

    ticket = factory.SubFactory(TicketFactory)
    organization = factory.SelfAttribute("ticket.organization")
    kind = BillingMoment.Kind.TICKET_OPENED
