"""A block of hours holds its prepaid time as top-ups: each added on a day of
the contract's run, charged its price that month, expiring after the
``block_expiry_months`` of the terms in force that day. Added and withdrawn
through one service, from the client page (admins and account managers), the
API and the admin."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled

from clients import services
from clients.models import BlockTopUp, Contract, ContractRevision
from msops.tenancy.models import Role
from tests.clients.test_admin import _staff
from tests.factories import ClientFactory, ContractFactory, ContractRevisionFactory

API = "/api/v1"
HTMX = {"HX-Request": "true"}
JAN_31 = datetime.date(2025, 1, 31)
WRITERS = {Role.DEVELOPER: False, Role.FINANCE: False, Role.ACCOUNT_MANAGER: True, Role.ADMIN: True}


@pytest.fixture
def scoped(in_scope, org):
    with in_scope(org):
        yield


@pytest.fixture
def block(org):
    """A block of hours from 31 January 2025 to the end of 2026 whose top-ups
    expire after 12 months (6 from 1 June 2025)."""
    contract = ContractFactory(
        client__organization=org,
        client__name="Brightside",
        name="Prepaid block",
        kind=Contract.Kind.BLOCK,
        starts_on=JAN_31,
        ends_on=datetime.date(2026, 12, 31),
    )
    ContractRevisionFactory(contract=contract, block_expiry_months=12)
    ContractRevisionFactory(
        contract=contract, effective_from=datetime.date(2025, 6, 1), block_expiry_months=6
    )
    return contract


def top_ups(contract) -> list[tuple]:
    with scopes_disabled():
        return list(
            BlockTopUp.objects.filter(contract=contract)
            .order_by("added_on", "pk")
            .values_list("added_on", "minutes", "price", "expires_on")
        )


def add(org, contract, added_on=JAN_31, minutes=600, price=Decimal("1100"), **kwargs):
    return services.block_top_up_create(
        organization=org,
        contract=contract,
        added_on=added_on,
        minutes=minutes,
        price=price,
        **kwargs,
    )


def refused(call) -> dict:
    with pytest.raises(ValidationError) as excinfo:
        call()
    return excinfo.value.message_dict


# --- the service -------------------------------------------------------------------------
def test_a_top_up_expires_after_the_months_of_the_terms_in_force_that_day(scoped, org, block):
    first = add(org, block)
    later = add(org, block, added_on=datetime.date(2025, 8, 31), note="  Running low  ")
    assert first.expires_on == datetime.date(2026, 1, 31)  # 12 calendar months
    assert later.expires_on == datetime.date(2026, 2, 28)  # 6 months on: the month's last day
    assert later.note == "Running low" and later.organization == org


def test_a_top_up_under_terms_without_expiry_never_expires(scoped, org):
    contract = ContractRevisionFactory(
        contract__client__organization=org, contract__kind=Contract.Kind.BLOCK
    ).contract
    assert add(org, contract, added_on=contract.starts_on).expires_on is None


def test_a_bad_top_up_is_refused_with_every_field_named(scoped, org, block):
    errors = refused(
        lambda: add(org, block, added_on=datetime.date(2025, 1, 30), minutes=0, price=Decimal("-1"))
    )
    assert set(errors) == {"added_on", "minutes", "price"}
    assert errors["added_on"] == [
        "The contract runs 2025-01-31 – 2026-12-31: add the top-up on a day in between."
    ]
    assert errors["price"] == ["The price cannot be negative."]
    after_the_end = refused(lambda: add(org, block, added_on=datetime.date(2027, 1, 1)))
    assert set(after_the_end) == {"added_on"}
    assert top_ups(block) == []


def test_only_a_block_of_hours_is_topped_up(scoped, org):
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    errors = refused(lambda: add(org, retainer, added_on=retainer.starts_on))
    assert errors == {"contract": ["Only a block of hours is topped up."]}


def test_a_block_of_another_organization_is_refused(scoped, org, other_org):
    foreign = ContractFactory(client__organization=other_org, kind=Contract.Kind.BLOCK)
    errors = refused(lambda: add(org, foreign, added_on=foreign.starts_on))
    assert errors == {"contract": ["Choose one from this organization."]}


def test_a_new_block_gets_its_first_top_up_at_the_fee(scoped, org):
    contract = services.contract_create(
        organization=org,
        client=ClientFactory(organization=org),
        name="Block",
        kind=Contract.Kind.BLOCK,
        starts_on=JAN_31,
        terms={"included_minutes": 2400, "fee": Decimal("4400"), "block_expiry_months": 1},
    )
    assert top_ups(contract) == [
        (JAN_31, 2400, Decimal("4400.00"), datetime.date(2025, 2, 28)),
    ]


def test_a_new_retainer_gets_no_top_up(scoped, org):
    contract = services.contract_create(
        organization=org,
        client=ClientFactory(organization=org),
        name="Retainer",
        kind=Contract.Kind.RETAINER,
        starts_on=JAN_31,
        terms={"included_minutes": 600},
    )
    assert top_ups(contract) == []


def test_expiry_months_are_refused_on_terms_of_other_kinds(scoped, org):
    errors = refused(
        lambda: services.contract_create(
            organization=org,
            client=ClientFactory(organization=org),
            name="Retainer",
            kind=Contract.Kind.RETAINER,
            starts_on=JAN_31,
            terms={"block_expiry_months": 12},
        )
    )
    assert errors == {
        "block_expiry_months": ["Only a block of hours has top-ups that expire: leave this empty."]
    }
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    errors = refused(
        lambda: services.contract_revision_create(
            organization=org,
            contract=retainer,
            effective_from=datetime.date(2025, 3, 1),
            terms={"block_expiry_months": 3},
        )
    )
    assert set(errors) == {"block_expiry_months"}


def test_expiry_months_carry_over_to_new_terms_and_can_change(scoped, org, block):
    carried = services.contract_revision_create(
        organization=org, contract=block, effective_from=datetime.date(2025, 9, 1)
    )
    assert carried.block_expiry_months == 6
    never = services.contract_revision_create(
        organization=org,
        contract=block,
        effective_from=datetime.date(2025, 10, 1),
        terms={"block_expiry_months": None},
    )
    assert never.block_expiry_months is None
    assert add(org, block, added_on=datetime.date(2025, 10, 2)).expires_on is None
    errors = refused(
        lambda: services.contract_revision_create(
            organization=org,
            contract=block,
            effective_from=datetime.date(2025, 11, 1),
            terms={"block_expiry_months": 0},
        )
    )
    assert set(errors) == {"block_expiry_months"}


def test_withdrawing_a_top_up_removes_it(scoped, org, block):
    top_up = add(org, block)
    services.block_top_up_delete(top_up=top_up)
    assert top_ups(block) == []


def test_moving_the_start_moves_the_first_top_up_and_its_expiry(scoped, org, block):
    add(org, block)
    add(org, block, added_on=datetime.date(2025, 3, 1))
    services.contract_update(contract=block, data={"starts_on": datetime.date(2025, 1, 15)})
    assert [(added, expires) for added, _, _, expires in top_ups(block)] == [
        (datetime.date(2025, 1, 15), datetime.date(2026, 1, 15)),
        (datetime.date(2025, 3, 1), datetime.date(2026, 3, 1)),
    ]
    errors = refused(
        lambda: services.contract_update(
            contract=block, data={"starts_on": datetime.date(2025, 4, 1)}
        )
    )
    assert "starts_on" in errors


def test_a_block_with_top_ups_keeps_them_inside_its_run_and_stays_a_block(scoped, org, block):
    add(org, block, added_on=datetime.date(2025, 8, 1))
    errors = refused(
        lambda: services.contract_update(
            contract=block,
            data={"ends_on": datetime.date(2025, 7, 31), "kind": Contract.Kind.RETAINER},
        )
    )
    assert set(errors) == {"ends_on", "kind"}


def test_deleting_a_contract_takes_its_top_ups_along(scoped, org, block):
    add(org, block)
    services.contract_delete(contract=block)
    assert not Contract.objects.filter(pk=block.pk).exists()
    assert not BlockTopUp.objects.exists()


# --- the API -----------------------------------------------------------------------------
def _post(client, contract, **fields):
    payload = {
        "contract": contract.pk,
        "added_on": "2025-01-31",
        "minutes": 600,
        "price": "1100.00",
        **fields,
    }
    return client.post(f"{API}/block-top-ups/", payload, format="json")


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_admins_and_account_managers_add_top_ups(api, members, block, role, allowed):
    response = _post(api(members[role]), block)
    assert response.status_code == (201 if allowed else 403)
    if allowed:
        body = response.json()
        assert body["expires_on"] == "2026-01-31"  # computed, read-only
        assert body["price"] == "1100.00" and body["minutes"] == 600
    assert len(top_ups(block)) == (1 if allowed else 0)


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"minutes": 0}, "minutes"),
        ({"price": "-5.00"}, "price"),
        ({"added_on": "2024-12-31"}, "added_on"),
        ({"expires_on": "2030-01-01", "minutes": -1}, "minutes"),
    ],
)
def test_a_bad_top_up_is_a_400_naming_the_field(api, admin_member, block, fields, field):
    response = _post(api(admin_member), block, **fields)
    assert response.status_code == 400 and field in response.json()["fields"]
    assert top_ups(block) == []


def test_a_top_up_on_another_kind_or_a_foreign_contract_is_a_400(api, admin_member, org, other_org):
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    foreign = ContractFactory(client__organization=other_org, kind=Contract.Kind.BLOCK)
    client = api(admin_member)
    for contract in (retainer, foreign):
        response = _post(client, contract, added_on=f"{contract.starts_on:%Y-%m-%d}")
        assert response.status_code == 400 and "contract" in response.json()["fields"]


def test_a_top_up_is_not_edited_but_withdrawn(api, account_manager, developer, block):
    created = _post(api(account_manager), block).json()
    detail = f"{API}/block-top-ups/{created['id']}/"
    assert api(account_manager).patch(detail, {"minutes": 1}).status_code == 405
    assert api(developer).delete(detail).status_code == 403
    assert api(account_manager).delete(detail).status_code == 204
    assert top_ups(block) == []


def test_top_ups_filter_by_contract_and_date(api, developer, org, block):
    other = ContractRevisionFactory(
        contract__client__organization=org, contract__kind=Contract.Kind.BLOCK
    ).contract
    with scopes_disabled():
        for day in (JAN_31, datetime.date(2025, 6, 1)):
            BlockTopUp.objects.create(organization=org, contract=block, added_on=day, minutes=60)
        BlockTopUp.objects.create(
            organization=org, contract=other, added_on=other.starts_on, minutes=60
        )
    rows = (
        api(developer)
        .get(f"{API}/block-top-ups/?contract={block.pk}&added_after=2025-02-01")
        .json()["results"]
    )
    assert [row["added_on"] for row in rows] == ["2025-06-01"]


def test_terms_take_expiry_months_through_the_api(api, admin_member, org, block):
    client = api(admin_member)
    revision = client.post(
        f"{API}/contract-revisions/",
        {"contract": block.pk, "effective_from": "2025-09-01", "block_expiry_months": 3},
    )
    assert revision.status_code == 201 and revision.json()["block_expiry_months"] == 3
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    wrong = client.post(
        f"{API}/contract-revisions/",
        {"contract": retainer.pk, "effective_from": "2025-09-01", "block_expiry_months": 3},
    )
    assert wrong.status_code == 400 and "block_expiry_months" in wrong.json()["fields"]
    first_terms = client.post(
        f"{API}/contracts/",
        {
            "client": retainer.client_id,
            "name": "Retainer",
            "kind": "retainer",
            "starts_on": "2025-01-01",
            "terms": {"block_expiry_months": 12},
        },
        format="json",
    )
    assert first_terms.status_code == 400
    assert "block_expiry_months" in first_terms.json()["fields"]["terms"]


def test_a_block_made_through_the_api_has_its_first_top_up(api, admin_member, org):
    acme = ClientFactory(organization=org)
    response = api(admin_member).post(
        f"{API}/contracts/",
        {
            "client": acme.pk,
            "name": "Block",
            "kind": "block",
            "starts_on": "2025-01-31",
            "terms": {"included_minutes": 600, "fee": "990.00", "block_expiry_months": 12},
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["revisions"][0]["block_expiry_months"] == 12
    with scopes_disabled():
        contract = Contract.objects.get(pk=response.json()["id"])
    assert top_ups(contract) == [
        (JAN_31, 600, Decimal("990.00"), datetime.date(2026, 1, 31)),
    ]


# --- the client page ---------------------------------------------------------------------
def page_url(org, contract) -> str:
    return reverse("clients:client_detail", kwargs={"org": org.slug, "pk": contract.client_id})


def add_url(org, contract) -> str:
    return reverse("clients:block_top_up_create", kwargs={"org": org.slug, "pk": contract.pk})


def test_the_client_page_lists_a_blocks_top_ups(login, developer, org, block):
    with scopes_disabled():
        BlockTopUp.objects.create(
            organization=org,
            contract=block,
            added_on=JAN_31,
            minutes=2400,
            price=Decimal("4400"),
            expires_on=datetime.date(2026, 1, 31),
            note="First block",
        )
        BlockTopUp.objects.create(
            organization=org, contract=block, added_on=datetime.date(2025, 9, 1), minutes=90
        )
    page = login(developer).get(page_url(org, block)).content.decode()
    assert page.count('data-testid="top-up"') == 2
    assert "2025-01-31" in page and "2026-01-31" in page and "First block" in page
    assert "40:00" in page and "1:30" in page and "EUR 4,400.00" in page
    assert "41:30" in page  # added in all
    assert 'data-testid="block-expiry"' in page  # the terms say when top-ups expire
    assert 'data-testid="add-top-up"' not in page  # developers read only
    assert "/top-ups/" not in page


@pytest.mark.parametrize("role,shown", WRITERS.items())
def test_the_add_top_up_form_is_for_admins_and_account_managers(
    login, members, org, block, role, shown
):
    page = login(members[role]).get(page_url(org, block)).content.decode()
    assert ('data-testid="add-top-up"' in page) is shown


def test_a_contract_that_is_not_a_block_shows_no_top_ups(login, account_manager, org):
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    page = login(account_manager).get(page_url(org, retainer)).content.decode()
    assert 'data-testid="top-ups"' not in page


@pytest.mark.parametrize("role,allowed", WRITERS.items())
def test_adding_a_top_up_inline_returns_the_blocks_top_ups(
    login, members, org, block, role, allowed
):
    response = login(members[role]).post(
        add_url(org, block),
        {"added_on": "2025-08-31", "minutes": "20:00", "price": "2200", "note": "By phone"},
        headers=HTMX,
    )
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        body = response.content.decode()
        assert "<html" not in body and f'id="contract-{block.pk}-top-ups"' in body
        assert "20:00" in body and "2026-02-28" in body and "By phone" in body
        assert 'data-testid="add-top-up"' in body  # a fresh form
    expected = [(datetime.date(2025, 8, 31), 1200, Decimal("2200.00"), datetime.date(2026, 2, 28))]
    assert top_ups(block) == (expected if allowed else [])


def test_a_bad_top_up_comes_back_with_the_services_errors_beside_the_fields(
    login, account_manager, org, block
):
    response = login(account_manager).post(
        add_url(org, block),
        {"added_on": "2027-01-01", "minutes": "0", "price": "-1"},
        headers=HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="add-top-up"' in body
    assert "add the top-up on a day in between" in body
    assert "Add one minute or more." in body
    assert "The price cannot be negative." in body
    assert top_ups(block) == []


def test_a_top_up_of_a_contract_that_is_not_a_block_is_refused_above_the_form(
    login, admin_member, org
):
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    response = login(admin_member).post(
        add_url(org, retainer), {"added_on": "2025-02-01", "minutes": "60", "price": "0"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Only a block of hours is topped up." in body
    with scopes_disabled():
        assert not BlockTopUp.objects.exists()


def test_without_htmx_adding_goes_back_to_the_contract(login, account_manager, org, block):
    response = login(account_manager).post(
        add_url(org, block), {"added_on": "2025-02-01", "minutes": "600", "price": "1100"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{page_url(org, block)}#contract-{block.pk}"
    assert len(top_ups(block)) == 1


def test_withdrawing_a_top_up_inline(login, account_manager, developer, org, block):
    with scopes_disabled():
        top_up = BlockTopUp.objects.create(
            organization=org, contract=block, added_on=JAN_31, minutes=60
        )
    delete_url = reverse("clients:block_top_up_delete", kwargs={"org": org.slug, "pk": top_up.pk})
    assert login(developer).post(delete_url, headers=HTMX).status_code == 403
    response = login(account_manager).post(delete_url, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "No top-ups yet" in body
    assert top_ups(block) == []
    assert login(account_manager).post(delete_url).status_code == 404


def test_a_top_up_of_another_organization_is_a_404(login, account_manager, org, other_org):
    foreign = ContractFactory(client__organization=other_org, kind=Contract.Kind.BLOCK)
    with scopes_disabled():
        top_up = BlockTopUp.objects.create(
            organization=other_org, contract=foreign, added_on=foreign.starts_on, minutes=60
        )
    client = login(account_manager)
    assert client.post(add_url(org, foreign), {"minutes": "60"}).status_code == 404
    delete_url = reverse("clients:block_top_up_delete", kwargs={"org": org.slug, "pk": top_up.pk})
    assert client.post(delete_url).status_code == 404
    with scopes_disabled():
        assert BlockTopUp.objects.filter(pk=top_up.pk).exists()


# --- the admin ---------------------------------------------------------------------------
def test_the_admin_adds_a_top_up_through_the_service(client, org, block):
    client.force_login(_staff(org))
    add = reverse("admin:clients_blocktopup_add")
    data = {
        "organization": org.pk,
        "contract": block.pk,
        "added_on": "2025-08-31",
        "minutes": "600",
        "price": "1100",
        "note": "",
    }
    refused_page = client.post(add, {**data, "added_on": "2024-01-01"})
    assert refused_page.status_code == 200
    assert "add the top-up on a day in between" in refused_page.content.decode()
    assert top_ups(block) == []
    assert client.post(add, data).status_code == 302
    assert top_ups(block) == [
        (datetime.date(2025, 8, 31), 600, Decimal("1100.00"), datetime.date(2026, 2, 28))
    ]


def test_the_admin_adds_expiry_months_only_to_a_blocks_terms(client, org):
    retainer = ContractRevisionFactory(contract__client__organization=org).contract
    client.force_login(_staff(org))
    response = client.post(
        reverse("admin:clients_contractrevision_add"),
        {
            "organization": org.pk,
            "contract": retainer.pk,
            "effective_from": "2025-07-01",
            "fee": "0",
            "included_minutes": "0",
            "hourly_rate": "100",
            "rounding_increment_minutes": "15",
            "minimum_charge_minutes": "0",
            "reask_factor": "2",
            "block_expiry_months": "6",
        },
    )
    assert response.status_code == 200
    assert "Only a block of hours has top-ups that expire" in response.content.decode()
    with scopes_disabled():
        assert ContractRevision.objects.filter(contract=retainer).count() == 1
