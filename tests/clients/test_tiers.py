"""Per-unit pricing bands start at 1 and follow each other without gaps or
overlaps, only the last one open-ended, whether they are written through the
service, the API or the admin; a contract's tier mode is edited with its other
fields and shown on the client page."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled

from clients import services
from clients.models import Contract, PricingTier
from tests.clients.test_admin import _contract_change_data, _staff
from tests.factories import ClientFactory, ContractFactory, ContractRevisionFactory

API = "/api/v1"


@pytest.fixture
def scoped(in_scope, org):
    with in_scope(org):
        yield


@pytest.fixture
def per_unit(org):
    return ContractRevisionFactory(
        contract__client__organization=org, contract__kind=Contract.Kind.PER_UNIT
    ).contract


def band(contract, lower, upper=None, price="10"):
    """A band written directly (bands as they were before the rule)."""
    with scopes_disabled():
        return PricingTier.objects.create(
            organization=contract.organization,
            contract=contract,
            min_units=lower,
            max_units=upper,
            unit_price=Decimal(price),
        )


def create(org, contract, lower, upper=None, price="10"):
    return services.pricing_tier_create(
        organization=org,
        contract=contract,
        min_units=lower,
        max_units=upper,
        unit_price=Decimal(price),
    )


def refused(call) -> dict:
    with pytest.raises(ValidationError) as excinfo:
        call()
    return excinfo.value.message_dict


def bands(contract) -> list[tuple]:
    with scopes_disabled():
        return list(
            PricingTier.objects.filter(contract=contract)
            .order_by("min_units")
            .values_list("min_units", "max_units")
        )


# --- the service -------------------------------------------------------------------------
def test_bands_that_follow_each_other_from_one_unit_are_accepted(scoped, org, per_unit):
    create(org, per_unit, 1, 10)
    create(org, per_unit, 11, 50)
    create(org, per_unit, 51)
    assert bands(per_unit) == [(1, 10), (11, 50), (51, None)]


def test_the_first_band_starts_at_one_unit(scoped, org, per_unit):
    errors = refused(lambda: create(org, per_unit, 5, 10))
    assert errors["min_units"] == [
        "Units 1–4 would have no price: the first band starts at 1 unit."
    ]
    assert bands(per_unit) == []


def test_a_band_after_a_gap_is_refused_on_its_start(scoped, org, per_unit):
    create(org, per_unit, 1, 10)
    errors = refused(lambda: create(org, per_unit, 15, 20))
    assert errors == {
        "min_units": [
            "Units 11–14 would have no price: start this band at 11, right after the band 1–10."
        ]
    }


def test_a_band_before_a_gap_is_refused_on_its_end(scoped, org, per_unit):
    band(per_unit, 21)  # saved before the rule: 1–20 unpriced
    errors = refused(lambda: create(org, per_unit, 1, 10))
    assert errors == {
        "max_units": [
            "Units 11–20 would have no price: end this band at 20, right before the band 21–∞."
        ]
    }
    create(org, per_unit, 1, 20)
    assert bands(per_unit) == [(1, 20), (21, None)]


def test_only_the_last_band_is_open_ended(scoped, org, per_unit):
    band(per_unit, 11, 20)
    errors = refused(lambda: create(org, per_unit, 1))
    assert "Only the last band may be open-ended" in errors["max_units"][0]


def test_overlapping_bands_are_still_refused(scoped, org, per_unit):
    create(org, per_unit, 1, 10)
    errors = refused(lambda: create(org, per_unit, 10, 20))
    assert errors == {"min_units": ["This band overlaps the band 1–10."]}


def test_shrinking_a_band_in_the_middle_is_refused(scoped, org, per_unit):
    first = create(org, per_unit, 1, 10)
    create(org, per_unit, 11, 20)
    create(org, per_unit, 21)
    errors = refused(
        lambda: services.pricing_tier_update(pricing_tier=first, data={"max_units": 8})
    )
    assert errors == {
        "max_units": [
            "Units 9–10 would have no price: end this band at 10, right before the band 11–20."
        ]
    }
    assert bands(per_unit) == [(1, 10), (11, 20), (21, None)]


def test_moving_a_band_away_from_the_units_it_priced_is_refused(scoped, org, per_unit):
    create(org, per_unit, 1, 10)
    middle = create(org, per_unit, 11, 20)
    create(org, per_unit, 21, 30)
    errors = refused(
        lambda: services.pricing_tier_update(
            pricing_tier=middle, data={"min_units": 31, "max_units": 40}
        )
    )
    assert errors["min_units"][0].startswith("Units 11–20 would have no price")


def test_changing_a_price_is_not_held_up_by_an_older_gap(scoped, org, per_unit):
    band(per_unit, 1, 10)
    later = band(per_unit, 21)  # saved before the rule
    services.pricing_tier_update(pricing_tier=later, data={"unit_price": Decimal("8")})
    later.refresh_from_db()
    assert later.unit_price == Decimal("8.00")


def test_only_the_last_band_can_be_deleted(scoped, org, per_unit):
    create(org, per_unit, 1, 10)
    middle = create(org, per_unit, 11, 20)
    last = create(org, per_unit, 21)
    errors = refused(lambda: services.pricing_tier_delete(pricing_tier=middle))
    assert errors == {
        NON_FIELD_ERRORS: [
            "Units 11–20 would have no price: only the last band can be deleted "
            "(the band 21–∞ comes after this one)."
        ]
    }
    services.pricing_tier_delete(pricing_tier=last)
    services.pricing_tier_delete(pricing_tier=middle)
    assert bands(per_unit) == [(1, 10)]


# --- the API -----------------------------------------------------------------------------
def test_a_gap_is_a_400_naming_the_field(api, admin_member, per_unit):
    client = api(admin_member)
    first = client.post(
        f"{API}/pricing-tiers/",
        {"contract": per_unit.pk, "min_units": 1, "max_units": 10, "unit_price": "5"},
    )
    assert first.status_code == 201
    gap = client.post(
        f"{API}/pricing-tiers/", {"contract": per_unit.pk, "min_units": 12, "unit_price": "4"}
    )
    assert (
        gap.status_code == 400 and "start this band at 11" in gap.json()["fields"]["min_units"][0]
    )
    client.post(
        f"{API}/pricing-tiers/", {"contract": per_unit.pk, "min_units": 11, "unit_price": "4"}
    )
    shrunk = client.patch(f"{API}/pricing-tiers/{first.json()['id']}/", {"max_units": 9})
    assert shrunk.status_code == 400 and "max_units" in shrunk.json()["fields"]
    assert bands(per_unit) == [(1, 10), (11, None)]


def test_deleting_a_band_in_the_middle_is_a_409_and_the_last_a_204(api, admin_member, per_unit):
    first, last = band(per_unit, 1, 10), band(per_unit, 11)
    client = api(admin_member)
    middle = client.delete(f"{API}/pricing-tiers/{first.pk}/")
    assert middle.status_code == 409 and middle.json()["code"] == "refused"
    assert "only the last band can be deleted" in middle.json()["detail"]
    assert client.delete(f"{API}/pricing-tiers/{last.pk}/").status_code == 204
    assert client.delete(f"{API}/pricing-tiers/{first.pk}/").status_code == 204


def test_the_tier_mode_is_written_and_read_with_the_contract(api, admin_member, org):
    acme = ClientFactory(organization=org)
    client = api(admin_member)
    created = client.post(
        f"{API}/contracts/",
        {
            "client": acme.pk,
            "name": "Endpoints",
            "kind": "per_unit",
            "starts_on": "2025-01-01",
            "tier_mode": "volume",
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["tier_mode"] == "volume"
    contract_id = created.json()["id"]
    patched = client.patch(f"{API}/contracts/{contract_id}/", {"tier_mode": "graduated"})
    assert patched.status_code == 200 and patched.json()["tier_mode"] == "graduated"
    wrong = client.patch(f"{API}/contracts/{contract_id}/", {"tier_mode": "cheapest"})
    assert wrong.status_code == 400 and "tier_mode" in wrong.json()["fields"]


def test_a_contract_defaults_to_graduated_tiers(scoped, org):
    contract = services.contract_create(
        organization=org,
        client=ClientFactory(organization=org),
        name="Endpoints",
        kind=Contract.Kind.PER_UNIT,
        starts_on=datetime.date(2025, 1, 1),
    )
    assert contract.tier_mode == Contract.TierMode.GRADUATED


# --- the admin ---------------------------------------------------------------------------
def _tier_data(org, contract, lower, upper="", price="10"):
    return {
        "organization": org.pk,
        "contract": contract.pk,
        "min_units": str(lower),
        "max_units": str(upper),
        "unit_price": price,
    }


def test_the_admin_adds_bands_through_the_service(client, org, per_unit):
    client.force_login(_staff(org))
    add = reverse("admin:clients_pricingtier_add")
    refused_page = client.post(add, _tier_data(org, per_unit, 3, 10))
    assert refused_page.status_code == 200
    assert "the first band starts at 1 unit" in refused_page.content.decode()
    assert bands(per_unit) == []
    assert client.post(add, _tier_data(org, per_unit, 1, 10)).status_code == 302
    assert client.post(add, _tier_data(org, per_unit, 11)).status_code == 302
    assert bands(per_unit) == [(1, 10), (11, None)]


def test_the_admin_refuses_a_change_that_opens_a_gap(client, org, per_unit):
    first = band(per_unit, 1, 10)
    band(per_unit, 11)
    client.force_login(_staff(org))
    response = client.post(
        reverse("admin:clients_pricingtier_change", args=[first.pk]),
        _tier_data(org, per_unit, 1, 8),
    )
    assert response.status_code == 200 and "end this band at 10" in response.content.decode()
    assert bands(per_unit) == [(1, 10), (11, None)]


def test_the_admin_refuses_to_delete_a_band_in_the_middle(client, org, per_unit):
    first, last = band(per_unit, 1, 10), band(per_unit, 11)
    client.force_login(_staff(org))
    response = client.post(
        reverse("admin:clients_pricingtier_delete", args=[first.pk]), {"post": "yes"}, follow=True
    )
    assert "only the last band can be deleted" in response.content.decode()
    assert bands(per_unit) == [(1, 10), (11, None)]
    client.post(reverse("admin:clients_pricingtier_delete", args=[last.pk]), {"post": "yes"})
    assert bands(per_unit) == [(1, 10)]


def test_the_contract_admin_shows_bands_to_read_and_saves_the_tier_mode(client, org, per_unit):
    band(per_unit, 1, 10)
    client.force_login(_staff(org))
    change = reverse("admin:clients_contract_change", args=[per_unit.pk])
    page = client.get(change).content.decode()
    assert "Pricing tiers (read-only here" in page
    assert 'name="pricing_tiers-0-min_units"' not in page
    data = {**_contract_change_data(org, per_unit), "tier_mode": "volume"}
    with scopes_disabled():
        revision = per_unit.revisions.get()
    data.update(
        {
            "revisions-TOTAL_FORMS": "1",
            "revisions-INITIAL_FORMS": "1",
            "revisions-0-id": str(revision.pk),
            "revisions-0-contract": str(per_unit.pk),
        }
    )
    response = client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    with scopes_disabled():
        per_unit.refresh_from_db()
    assert per_unit.tier_mode == Contract.TierMode.VOLUME


# --- the client page ---------------------------------------------------------------------
def test_the_client_page_says_how_a_per_unit_contract_is_priced(login, developer, org):
    contract = ContractFactory(
        client__organization=org, kind=Contract.Kind.PER_UNIT, tier_mode="volume"
    )
    ContractRevisionFactory(contract=contract)
    band(contract, 1, 10)
    page = (
        login(developer)
        .get(reverse("clients:client_detail", kwargs={"org": org.slug, "pk": contract.client_id}))
        .content.decode()
    )
    assert 'data-testid="tier-mode"' in page
    assert "Volume: every unit at the price of the band the count falls in" in page


def test_the_admin_sets_unit_counts_through_the_service_and_a_locked_month_refuses(
    client, org, per_unit
):
    from billing.models import BillingPeriod
    from clients.models import UnitCount

    client.force_login(_staff(org))
    add = reverse("admin:clients_unitcount_add")
    data = {"organization": org.pk, "contract": per_unit.pk, "month": "2025-03-15", "units": "12"}
    assert client.post(add, data).status_code == 302
    with scopes_disabled():
        count = UnitCount.objects.get(contract=per_unit)
        assert (count.month, count.units) == (
            datetime.date(2025, 3, 1),
            12,
        )  # the month's first day
        # Setting the count opened March's billing period; finance locks it.
        BillingPeriod.objects.filter(
            client=per_unit.client, month=datetime.date(2025, 3, 1)
        ).update(status=BillingPeriod.Status.LOCKED)
    change = reverse("admin:clients_unitcount_change", args=[count.pk])
    refused = client.post(change, {**data, "month": "2025-03-01", "units": "20"})
    assert refused.status_code == 200
    assert "is locked" in refused.content.decode()
    with scopes_disabled():
        assert UnitCount.objects.get(pk=count.pk).units == 12
