"""Review packs: review dates on each cadence, the frozen figures against
hand counts, the daily job (once, and only ahead of a review), preparing on
demand, the PDF, the roles and the API."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.models import ScopeCheck
from clients.models import Client, Contract
from msops.calendar import add_months
from msops.tenancy.scoping import activate_organization
from msops.timezones import organization_today
from tests.factories import (
    ClientFactory,
    ContractFactory,
    ContractRevisionFactory,
    RequestTypeFactory,
    TicketFactory,
    TimeEntryFactory,
)
from tests.transitions.conftest import rows
from transitions.models import ReviewPack
from transitions.review_pack import (
    next_review,
    review_dates,
    review_pack_build,
    review_pack_prepare,
    review_packs_prepare,
    review_period_on,
)

try:
    import weasyprint  # noqa: F401

    WEASYPRINT = True
except (ImportError, OSError):
    WEASYPRINT = False

D = datetime.date


def contract_(**fields) -> Contract:
    return Contract(
        starts_on=fields.pop("starts_on"),
        review_cadence=fields.pop("cadence", "quarterly"),
        **fields,
    )


# --- review dates ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cadence", "starts_on", "until", "expected"),
    [
        (
            "monthly",
            D(2026, 1, 31),
            D(2026, 5, 1),
            [D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30)],
        ),
        (
            "quarterly",
            D(2026, 1, 15),
            D(2027, 1, 15),
            [D(2026, 4, 15), D(2026, 7, 15), D(2026, 10, 15), D(2027, 1, 15)],
        ),
        ("semiannual", D(2026, 1, 15), D(2027, 6, 1), [D(2026, 7, 15), D(2027, 1, 15)]),
        ("annual", D(2024, 2, 29), D(2027, 3, 1), [D(2025, 2, 28), D(2026, 2, 28), D(2027, 2, 28)]),
    ],
)
def test_review_dates_follow_the_cadence_counted_from_the_contract_start(
    cadence, starts_on, until, expected
):
    contract = contract_(starts_on=starts_on, cadence=cadence)
    assert review_dates(contract=contract, until=until) == expected


def test_a_fixed_term_contracts_last_period_stops_at_its_end():
    contract = contract_(starts_on=D(2026, 1, 1), ends_on=D(2026, 5, 31))
    assert review_dates(contract=contract, until=D(2030, 1, 1)) == [D(2026, 4, 1), D(2026, 6, 1)]
    last = review_period_on(contract=contract, on=D(2026, 5, 31))
    assert (last.start, last.end, last.review_on) == (D(2026, 4, 1), D(2026, 6, 1), D(2026, 6, 1))
    assert review_period_on(contract=contract, on=D(2026, 6, 1)) is None
    assert review_period_on(contract=contract, on=D(2025, 12, 31)) is None


def test_the_next_review_covers_the_cadence_period_that_ends_on_it():
    contract = contract_(starts_on=D(2026, 1, 15))
    on_the_day = next_review(contract=contract, today=D(2026, 4, 15))
    assert (on_the_day.start, on_the_day.end) == (D(2026, 1, 15), D(2026, 4, 15))
    after = next_review(contract=contract, today=D(2026, 4, 16))
    assert (after.start, after.end) == (D(2026, 4, 15), D(2026, 7, 15))
    before_start = next_review(contract=contract, today=D(2025, 12, 1))
    assert before_start.review_on == D(2026, 4, 15)


# --- a world with hand-counted figures ----------------------------------------------
def _at(org, day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=org.tzinfo)


@pytest.fixture
def world(org, account_manager, developer):
    """A retainer (10 h a month, monthly periods, quarterly reviews from
    1 January 2026) of Acme, with the quarter July–September worked by hand."""
    client = ClientFactory(
        organization=org, name="Acme", account_manager=account_manager,
        billing_notes="INTERNAL-BILLING-NOTE",
    )  # fmt: skip
    contract = ContractFactory(
        client=client, organization=org, name="Acme support", starts_on=D(2026, 1, 1),
        review_cadence="quarterly", period="monthly", notice_days=30,
    )  # fmt: skip
    ContractRevisionFactory(contract=contract, organization=org, included_minutes=600)
    patching = RequestTypeFactory(organization=org, name="Patching")
    backup = RequestTypeFactory(organization=org, name="Backup")

    def ticket(request_type, opened: datetime.date, title: str):
        return TicketFactory(
            organization=org, client=client, contract=contract, request_type=request_type,
            opened_at=_at(org, opened), title=title,
        )  # fmt: skip

    def log(ticket, day, minutes, status="included"):
        TimeEntryFactory(
            organization=org, ticket=ticket, person=developer, work_date=day, minutes=minutes,
            billing_status=status,
        )  # fmt: skip

    p1 = ticket(patching, D(2026, 7, 3), "Patch the mail server")
    p2 = ticket(patching, D(2026, 8, 10), "Patch the firewall")
    p3 = ticket(patching, D(2026, 9, 20), "Patch the laptops")
    b1 = ticket(backup, D(2026, 8, 1), "Restore a folder")
    old = ticket(backup, D(2026, 6, 20), "Backup job failing")  # opened before the quarter
    log(p1, D(2026, 7, 3), 120)
    log(old, D(2026, 7, 5), 60)  # July: 180 drawn
    log(p2, D(2026, 8, 10), 400)
    log(b1, D(2026, 8, 12), 300)  # August: 700 drawn, 100 past the 600
    log(p3, D(2026, 9, 21), 45, status="billable")  # September: 45 billable
    log(p1, D(2026, 6, 30), 30)  # June: outside the quarter

    def check(ticket, status, decided: datetime.date | None, estimate: int):
        return ScopeCheck.objects.create(
            organization=org, ticket=ticket, status=status, requested_by=developer,
            account_manager=account_manager, estimate_minutes=estimate,
            reason="INTERNAL-REASON", client_explanation=f"Extra work on {ticket.title}",
            decided_at=_at(org, decided) if decided else None,
            decision_note="INTERNAL-DECISION-NOTE",
        )  # fmt: skip

    with activate_organization(org):
        check(p2, "approved", D(2026, 8, 11), 120)
        check(b1, "client_declined", D(2026, 9, 2), 240)
        check(p1, "approved", D(2026, 6, 29), 60)  # decided before the quarter
        check(p3, "pending", None, 90)  # not decided
    return {"client": client, "contract": contract, "patching": patching}


@pytest.fixture
def pack(org, world):
    with activate_organization(org):
        return review_pack_build(
            contract=world["contract"], period_start=D(2026, 7, 1), period_end=D(2026, 10, 1)
        )


def test_the_pack_shows_hours_against_the_allowance_by_month(pack):
    months = {m["month"]: m for m in pack.data["months"]}
    assert list(months) == ["2026-07-01", "2026-08-01", "2026-09-01"]
    july, august, september = months.values()
    assert (july["allowance_minutes"], july["drawn_minutes"], july["left_minutes"]) == (
        600,
        180,
        420,
    )
    assert july["worked_minutes"] == 180
    assert (august["drawn_minutes"], august["overage_minutes"], august["left_minutes"]) == (
        700,
        100,
        0,
    )
    assert september["drawn_minutes"] == 0
    assert september["worked_minutes"] == 45
    assert september["billable_minutes"] == 45
    assert pack.data["totals"]["worked_minutes"] == 925
    assert pack.data["totals"]["overage_minutes"] == 100


def test_the_pack_lists_the_scope_changes_decided_in_the_period(pack):
    changes = pack.data["scope_changes"]
    assert [(c["title"], c["estimate_minutes"], c["decided_on"]) for c in changes["approved"]] == [
        ("Patch the firewall", 120, "2026-08-11")
    ]
    [declined] = changes["declined"]
    assert (declined["title"], declined["decided_by_client"]) == ("Restore a folder", True)


def test_the_pack_ranks_request_types_and_proposes_the_recurring_one(pack):
    assert pack.data["request_types"] == [
        {"name": "Patching", "tickets": 3, "minutes": 565},
        {"name": "Backup", "tickets": 1, "minutes": 360},
    ]
    [issue] = pack.data["recurring_issues"]
    assert (issue["name"], issue["tickets"], issue["minutes"]) == ("Patching", 3, 565)
    assert len(issue["ticket_numbers"]) == 3


def test_the_pack_reports_the_sla_of_the_contract(pack):
    assert pack.data["sla"]["opened"] == 4


def test_an_open_ended_contract_renews_at_its_period_end_with_notice_before(pack):
    terms = pack.data["terms"]
    # Reviewed on 1 October: the monthly period ends 31 October, notice 30 days before.
    assert (terms["renewal_on"], terms["notice_by"], terms["open_ended"]) == (
        "2026-10-31",
        "2026-10-01",
        True,
    )
    assert terms["next_review_on"] == "2027-01-01"


def test_a_fixed_term_contract_renews_at_its_end(org, world):
    contract = world["contract"]
    with scopes_disabled():
        Contract.objects.filter(pk=contract.pk).update(ends_on=D(2026, 12, 31), notice_days=60)
        contract.refresh_from_db()
    with activate_organization(org):
        pack = review_pack_prepare(contract=contract, on=D(2026, 8, 15))
    assert (pack.period_start, pack.period_end) == (D(2026, 7, 1), D(2026, 10, 1))
    assert (pack.data["terms"]["renewal_on"], pack.data["terms"]["notice_by"]) == (
        "2026-12-31",
        "2026-11-01",
    )


def test_the_pack_holds_nothing_internal(pack):
    text = json.dumps(pack.data)
    for internal in ("INTERNAL-REASON", "INTERNAL-DECISION-NOTE", "INTERNAL-BILLING-NOTE"):
        assert internal not in text

    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)

    assert not {"rate", "hourly_rate", "overage_rate", "cost", "margin", "billable_amount"} & set(
        keys(pack.data)
    )


def test_the_pack_has_a_pdf_when_weasyprint_works(pack):
    if not WEASYPRINT:
        pytest.skip("WeasyPrint cannot import here: the browser test prints the page instead")
    assert bytes(pack.pdf).startswith(b"%PDF")


def test_a_pack_without_weasyprint_is_saved_without_a_pdf(org, world, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_weasyprint(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    with activate_organization(org):
        pack = review_pack_build(
            contract=world["contract"], period_start=D(2026, 7, 1), period_end=D(2026, 10, 1)
        )
    assert pack.pdf is None
    assert pack.data["months"]


def test_preparing_again_replaces_the_periods_pack(org, world, pack, account_manager):
    with activate_organization(org):
        again = review_pack_build(
            contract=world["contract"],
            period_start=D(2026, 7, 1),
            period_end=D(2026, 10, 1),
            actor=account_manager,
        )
    assert again.pk == pack.pk
    [only] = rows(ReviewPack)
    assert only.generated_by == account_manager


def test_a_period_outside_the_contract_is_refused(org, world):
    from django.core.exceptions import ValidationError

    with activate_organization(org), pytest.raises(ValidationError) as refused:
        review_pack_prepare(contract=world["contract"], on=D(2025, 6, 1))
    assert "on" in refused.value.message_dict
    assert rows(ReviewPack) == []


# --- the daily job ------------------------------------------------------------------
def test_the_job_prepares_a_pack_only_within_a_week_of_the_review_and_once(org, world):
    with activate_organization(org):
        # The review on 1 October is 8 days away: nothing yet.
        assert review_packs_prepare(organization=org, today=D(2026, 9, 23)) == 0
        assert review_packs_prepare(organization=org, today=D(2026, 9, 24)) == 1
        assert review_packs_prepare(organization=org, today=D(2026, 9, 24)) == 0
        assert review_packs_prepare(organization=org, today=D(2026, 9, 30)) == 0
    [pack] = rows(ReviewPack)
    assert (pack.period_start, pack.period_end, pack.review_on) == (
        D(2026, 7, 1),
        D(2026, 10, 1),
        D(2026, 10, 1),
    )
    assert pack.generated_by is None


def test_the_job_skips_clients_that_ended(org, world):
    with scopes_disabled():
        Client.objects.filter(pk=world["client"].pk).update(status=Client.Status.ENDED)
    with activate_organization(org):
        assert review_packs_prepare(organization=org, today=D(2026, 9, 28)) == 0


def test_the_daily_task_runs_per_organization(org, other_org):
    from transitions.tasks import review_packs_prepare_all, review_packs_prepare_task

    today = organization_today(org)
    starts_on = add_months(today + datetime.timedelta(days=3), -3)
    ours = ContractFactory(client=ClientFactory(organization=org), starts_on=starts_on)
    theirs = ContractFactory(client=ClientFactory(organization=other_org), starts_on=starts_on)
    assert review_packs_prepare_task.delay(organization_id=org.pk).get() == 1
    assert review_packs_prepare_task.delay(organization_id=org.pk).get() == 0
    [pack] = rows(ReviewPack)
    assert pack.contract == ours and pack.review_on == today + datetime.timedelta(days=3)
    review_packs_prepare_all.delay().get()
    with activate_organization(other_org):
        [their_pack] = ReviewPack.objects.filter(organization=other_org)
    assert their_pack.contract == theirs


def test_the_beat_schedule_runs_the_job_daily():
    from msops.celery import app

    entry = app.conf.beat_schedule["review-packs"]
    assert entry["task"] == "transitions.tasks.review_packs_prepare_all"
    assert entry["schedule"] == 24 * 60 * 60


# --- pages ------------------------------------------------------------------------------
def _url(name, org, **kwargs):
    return reverse(f"transitions:{name}", kwargs={"org": org.slug, **kwargs})


def test_the_account_manager_prepares_a_pack_now_and_opens_it(login, org, world, account_manager):
    page = login(account_manager)
    listing = page.get(_url("review_packs", org) + f"?client={world['client'].pk}")
    assert listing.status_code == 200
    assert b"Prepare now" in listing.content
    response = page.post(
        _url("review_pack_prepare", org, pk=world["client"].pk),
        {"contract": world["contract"].pk, "on": "2026-08-15"},
    )
    [pack] = rows(ReviewPack)
    assert response.status_code == 302
    assert response["Location"] == _url("review_pack_detail", org, pk=pack.pk)
    assert pack.generated_by == account_manager
    detail = page.get(response["Location"])
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "Acme: review of 1 July 2026" in body and "Patching" in body
    assert "css/review-pack.css" in body


def test_prepare_now_with_htmx_answers_the_form_with_the_new_pack(
    login, org, world, account_manager
):
    response = login(account_manager).post(
        _url("review_pack_prepare", org, pk=world["client"].pk),
        {"contract": world["contract"].pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"review-pack-prepared" in response.content
    assert b"<html" not in response.content


def test_bad_input_on_prepare_now_shows_on_the_field_and_saves_nothing(
    login, org, world, account_manager
):
    other_contract = ContractFactory(client=ClientFactory(organization=org, name="Other"))
    page = login(account_manager)
    url = _url("review_pack_prepare", org, pk=world["client"].pk)
    bad_day = page.post(url, {"contract": world["contract"].pk, "on": "31-31-2026"})
    assert bad_day.status_code == 400 and "on" in bad_day.context["form"].errors
    outside = page.post(url, {"contract": world["contract"].pk, "on": "2020-01-01"})
    assert outside.status_code == 400 and "on" in outside.context["form"].errors
    not_theirs = page.post(url, {"contract": other_contract.pk})
    assert not_theirs.status_code == 400 and "contract" in not_theirs.context["form"].errors
    assert rows(ReviewPack) == []


def test_the_pdf_downloads_as_an_attachment(login, org, pack, finance):
    response = login(finance).get(_url("review_pack_pdf", org, pk=pack.pk))
    if not WEASYPRINT:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="review-pack-acme-2026-10-01.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_a_pack_without_a_pdf_answers_404_with_the_way_out(login, org, pack, admin_member):
    with scopes_disabled():
        ReviewPack.objects.filter(pk=pack.pk).update(pdf=None)
    page = login(admin_member)
    response = page.get(_url("review_pack_pdf", org, pk=pack.pk))
    assert response.status_code == 404
    assert "Print → Save as PDF" in response.content.decode()
    detail = page.get(_url("review_pack_detail", org, pk=pack.pk)).content.decode()
    assert "Print → Save as PDF" in detail


@pytest.mark.parametrize("name", ["review_packs", "review_pack_detail", "review_pack_pdf"])
def test_developers_may_not_read_review_packs(login, org, pack, developer, name):
    kwargs = {} if name == "review_packs" else {"pk": pack.pk}
    assert login(developer).get(_url(name, org, **kwargs)).status_code == 403


def test_developers_may_not_prepare_a_pack(login, org, world, developer):
    response = login(developer).post(
        _url("review_pack_prepare", org, pk=world["client"].pk), {"contract": world["contract"].pk}
    )
    assert response.status_code == 403
    assert rows(ReviewPack) == []


def test_an_account_manager_reads_only_the_packs_of_their_clients(login, org, pack):
    from tests.factories import MembershipFactory

    other_manager = MembershipFactory(organization=org, role="account_manager")
    page = login(other_manager)
    assert page.get(_url("review_pack_detail", org, pk=pack.pk)).status_code == 403
    assert page.get(_url("review_pack_pdf", org, pk=pack.pk)).status_code == 403
    listing = page.get(_url("review_packs", org))
    assert listing.status_code == 200 and list(listing.context["packs"]) == []
    client_url = _url("review_packs", org) + f"?client={pack.client_id}"
    assert page.get(client_url).status_code == 403


def test_the_client_page_links_to_its_review_packs_for_its_account_manager(
    login, org, world, account_manager, developer
):
    url = reverse("clients:client_detail", kwargs={"org": org.slug, "pk": world["client"].pk})
    assert b'data-testid="review-packs-link"' in login(account_manager).get(url).content
    assert b'data-testid="review-packs-link"' not in login(developer).get(url).content


def test_the_list_keeps_its_query_count_as_packs_grow(
    login, org, world, finance, django_assert_max_num_queries
):
    page = login(finance)
    url = _url("review_packs", org)

    def add(n):
        with scopes_disabled():
            for _ in range(n):
                year = 2000 + ReviewPack.objects.count()
                ReviewPack.objects.create(
                    organization=org, client=world["client"], contract=world["contract"],
                    period_start=D(year, 1, 1), period_end=D(year, 4, 1), review_on=D(year, 4, 1),
                    data={}, generated_at=timezone.now(), generated_by=finance,
                )  # fmt: skip

    add(2)
    page.get(url)
    with django_assert_max_num_queries(20) as two:
        page.get(url)
    add(48)
    with django_assert_max_num_queries(len(two)):
        page.get(url)


# --- API --------------------------------------------------------------------------------
def test_the_api_lists_packs_without_figures_and_reads_one_with_them(api, pack, finance):
    client = api(finance)
    listing = client.get("/api/v1/review-packs/")
    assert listing.status_code == 200
    [row] = listing.json()["results"]
    assert row["id"] == pack.pk and "data" not in row
    assert row["has_pdf"] is WEASYPRINT
    one = client.get(f"/api/v1/review-packs/{pack.pk}/").json()
    assert one["data"]["terms"]["renewal_on"] == "2026-10-31"


def test_the_api_prepares_a_pack(api, world, account_manager):
    response = api(account_manager).post(
        "/api/v1/review-packs/prepare/",
        {"contract": world["contract"].pk, "on": "2026-08-15"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["period_start"] == "2026-07-01"
    assert response.json()["data"]["recurring_issues"][0]["name"] == "Patching"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"on": "2026-08-15"}, "contract"),
        ({"contract": "x"}, "contract"),
        ({"contract": None, "on": "soon"}, "on"),
        ({"contract": None, "on": "2020-01-01"}, "on"),
    ],
)
def test_the_api_answers_bad_input_with_the_field(api, world, account_manager, payload, field):
    if payload.get("contract", "") is None:
        payload["contract"] = world["contract"].pk
    response = api(account_manager).post("/api/v1/review-packs/prepare/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert rows(ReviewPack) == []


def test_the_api_refuses_a_contract_of_another_organization(api, world, account_manager, other_org):
    foreign = ContractFactory(client=ClientFactory(organization=other_org))
    response = api(account_manager).post(
        "/api/v1/review-packs/prepare/", {"contract": foreign.pk}, format="json"
    )
    assert response.status_code == 400 and "contract" in response.json()["fields"]


def test_the_api_refuses_developers(api, pack, developer):
    client = api(developer)
    assert client.get("/api/v1/review-packs/").status_code == 403
    assert client.get(f"/api/v1/review-packs/{pack.pk}/pdf/").status_code == 403


def test_the_api_downloads_the_pdf(api, pack, admin_member):
    response = api(admin_member).get(
        f"/api/v1/review-packs/{pack.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    if not WEASYPRINT:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"%PDF")


def test_the_api_gives_the_pdf_in_json_by_default(api, pack, admin_member):
    if not WEASYPRINT:
        pytest.skip("no PDF without WeasyPrint")
    import base64

    body = api(admin_member).get(f"/api/v1/review-packs/{pack.pk}/pdf/").json()
    assert body["filename"] == "review-pack-acme-2026-10-01.pdf"
    assert base64.b64decode(body["content_base64"]).startswith(b"%PDF")


def test_the_api_answers_404_for_a_pack_without_a_pdf(api, pack, admin_member):
    with scopes_disabled():
        ReviewPack.objects.filter(pk=pack.pk).update(pdf=None)
    response = api(admin_member).get(f"/api/v1/review-packs/{pack.pk}/pdf/")
    assert response.status_code == 404
    assert "Print" in response.json()["detail"]


# --- admin ------------------------------------------------------------------------------
def test_staff_see_their_organizations_packs_and_prepare_them_again(client, org, pack):
    from django.contrib.auth.models import Permission

    from tests.factories import MembershipFactory

    staff = MembershipFactory(organization=org, role="admin", user__username="staffer").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_reviewpack", "change_reviewpack"])
    )
    client.force_login(staff)
    changelist = reverse("admin:transitions_reviewpack_changelist")
    assert "Acme" in client.get(changelist).content.decode()
    assert (
        client.get(reverse("admin:transitions_reviewpack_change", args=[pack.pk])).status_code
        == 200
    )
    before = pack.generated_at
    response = client.post(changelist, {"action": "prepare_again", "_selected_action": [pack.pk]})
    assert response.status_code == 302
    [again] = rows(ReviewPack)
    assert again.pk == pack.pk and again.generated_at > before


def test_the_api_list_keeps_its_query_count_as_packs_grow(
    api, org, world, finance, django_assert_max_num_queries
):
    client = api(finance)

    def add(n):
        with scopes_disabled():
            for _ in range(n):
                year = 2000 + ReviewPack.objects.count()
                ReviewPack.objects.create(
                    organization=org, client=world["client"], contract=world["contract"],
                    period_start=D(year, 1, 1), period_end=D(year, 4, 1), review_on=D(year, 4, 1),
                    data={}, generated_at=timezone.now(), generated_by=finance,
                )  # fmt: skip

    add(2)
    client.get("/api/v1/review-packs/")
    with django_assert_max_num_queries(20) as two:
        assert len(client.get("/api/v1/review-packs/").json()["results"]) == 2
    add(48)
    with django_assert_max_num_queries(len(two)):
        client.get("/api/v1/review-packs/")


# --- review findings ----------------------------------------------------------------------
@pytest.mark.parametrize("day", ["9999-12-31", "9998-12-31"])
def test_a_day_whose_review_or_renewal_leaves_the_calendar_is_refused_on_the_field(
    login, api, org, world, account_manager, day
):
    url = _url("review_pack_prepare", org, pk=world["client"].pk)
    page = login(account_manager).post(url, {"contract": world["contract"].pk, "on": day})
    assert page.status_code == 400 and "on" in page.context["form"].errors
    response = api(account_manager).post(
        "/api/v1/review-packs/prepare/",
        {"contract": world["contract"].pk, "on": day},
        format="json",
    )
    assert response.status_code == 400 and "on" in response.json()["fields"]
    assert rows(ReviewPack) == []


def test_a_notice_too_long_for_the_calendar_is_refused_on_the_field(org, world):
    from django.core.exceptions import ValidationError

    contract = world["contract"]
    with scopes_disabled():
        Contract.objects.filter(pk=contract.pk).update(notice_days=999_999_999)
        contract.refresh_from_db()
    with activate_organization(org), pytest.raises(ValidationError) as refused:
        review_pack_prepare(contract=contract, on=D(2026, 8, 15))
    assert "on" in refused.value.message_dict
    assert rows(ReviewPack) == []


@pytest.mark.parametrize("value", ["²", "abc", "-1", "0", "1_0", "99999999999999999999999"])
def test_a_client_filter_that_is_not_an_id_answers_404(login, org, world, finance, value):
    response = login(finance).get(_url("review_packs", org), {"client": value})
    assert response.status_code == 404


def test_the_job_prepares_again_a_pack_prepared_before_its_period_ended(org, world):
    def prepared_at(day: datetime.date) -> None:
        with scopes_disabled():
            ReviewPack.objects.update(generated_at=_at(org, day))

    with activate_organization(org):
        assert review_packs_prepare(organization=org, today=D(2026, 9, 24)) == 1
        prepared_at(D(2026, 9, 24))  # a week before the period's end
        assert review_packs_prepare(organization=org, today=D(2026, 9, 30)) == 0
        # The review day: the period [1 July, 1 October) has ended, the pack misses its last week.
        assert review_packs_prepare(organization=org, today=D(2026, 10, 1)) == 1
        [pack] = rows(ReviewPack)
        assert pack.generated_at >= _at(org, D(2026, 10, 1), hour=0)
        assert review_packs_prepare(organization=org, today=D(2026, 10, 1)) == 0
        assert review_packs_prepare(organization=org, today=D(2026, 10, 2)) == 0
        prepared_at(D(2026, 9, 24))
        assert review_packs_prepare(organization=org, today=D(2026, 10, 8)) == 1
        assert review_packs_prepare(organization=org, today=D(2026, 10, 8)) == 0
        prepared_at(D(2026, 9, 24))  # more than a week after the review: left as it is
        assert review_packs_prepare(organization=org, today=D(2026, 10, 9)) == 0
    [pack] = rows(ReviewPack)
    assert pack.generated_at == _at(org, D(2026, 9, 24))


def test_the_hours_by_month_are_summed_in_the_database(org, world, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import EntryPortion
    from transitions import review_pack

    class NoUsage:
        usage: dict = {}

    monkeypatch.setattr(review_pack, "price_client_month", lambda **kwargs: NoUsage())
    with activate_organization(org), CaptureQueriesContext(connection) as queries:
        months = review_pack._hours_by_month(
            contract=world["contract"], start=D(2026, 7, 1), end=D(2026, 10, 1)
        )
    assert [m["worked_minutes"] for m in months] == [180, 700, 45]
    table = EntryPortion._meta.db_table
    [query] = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert "GROUP BY" in query and "SUM(" in query


def _add_packs(org, world, member, n):
    with scopes_disabled():
        for _ in range(n):
            year = 2000 + ReviewPack.objects.count()
            ReviewPack.objects.create(
                organization=org, client=world["client"], contract=world["contract"],
                period_start=D(year, 1, 1), period_end=D(year, 4, 1), review_on=D(year, 4, 1),
                data={}, generated_at=timezone.now(), generated_by=member,
            )  # fmt: skip


def test_the_list_shows_25_packs_a_page(login, org, world, finance):
    _add_packs(org, world, finance, 30)
    page = login(finance)
    first = page.get(_url("review_packs", org))
    assert len(first.context["packs"]) == 25
    assert b'data-testid="review-packs-next"' in first.content
    second = page.get(_url("review_packs", org), {"page": 2, "client": world["client"].pk})
    assert len(second.context["packs"]) == 5
    assert b'data-testid="review-packs-previous"' in second.content
    assert f"client={world['client'].pk}" in second.content.decode()


def test_the_api_list_is_paginated(api, org, world, finance):
    _add_packs(org, world, finance, 60)
    body = api(finance).get("/api/v1/review-packs/").json()
    assert body["count"] == 60 and len(body["results"]) == 50 and body["next"]


def test_staff_without_the_change_permission_may_not_prepare_a_pack_again(client, org, pack):
    from django.contrib.auth.models import Permission

    from tests.factories import MembershipFactory

    staff = MembershipFactory(organization=org, role="admin", user__username="viewer").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.set(Permission.objects.filter(codename="view_reviewpack"))
    client.force_login(staff)
    changelist = reverse("admin:transitions_reviewpack_changelist")
    assert "prepare_again" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "prepare_again", "_selected_action": [pack.pk]})
    [same] = rows(ReviewPack)
    assert same.generated_at == pack.generated_at
