"""Pages of clients/: the client list, the client page with its contracts,
scope rules and a block's top-ups (edited inline with htmx by admins and
account managers), and the request type catalogue.

Each view checks the role once and renders either the page or, for htmx, the
named partial of the same template."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from msops.forms import add_service_errors
from msops.htmx import htmx_template
from msops.tenancy.roles import ADMINS, MANAGERS, require_role

from .forms import (
    BlockTopUpForm,
    ClientForm,
    RequestTypeForm,
    ScopeRuleEndForm,
    ScopeRuleForm,
    SLACalendarForm,
)
from .models import ZERO, BlockTopUp, Client, Contract, SLACalendar
from .selectors import (
    ContractCard,
    account_manager_choices,
    client_get,
    client_list,
    client_page,
    contract_card,
    contract_get,
    organization_today,
    request_type_list,
    scope_rule_get,
    scope_rule_row,
    sla_calendars_by_contract,
)
from .services import (
    block_top_up_create,
    block_top_up_delete,
    client_create,
    client_update,
    request_type_create,
    scope_rule_create,
    scope_rule_delete,
)
from .services import scope_rule_update as scope_rule_update_service
from .services.sla_calendar import sla_calendar_set

PAGE_SIZE = 50


# --- clients ----------------------------------------------------------------
@require_GET
def client_list_view(request: HttpRequest, org: str) -> HttpResponse:
    membership = require_role(request)
    status = request.GET.get("status", "")
    if status not in Client.Status.values:
        status = ""
    search = request.GET.get("q", "").strip()[:100]
    clients = client_list(organization=request.organization, status=status, search=search)
    page = Paginator(clients, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "clients": page.object_list,
        "status": status,
        "q": search,
        "statuses": Client.Status.choices,
        "can_manage": membership.role in MANAGERS,
    }
    return render(
        request, htmx_template(request, "clients/client_list.html", "client-table"), context
    )


def _client_form_page(request: HttpRequest, context: dict) -> HttpResponse:
    return render(request, "clients/client_form.html", context)


@require_http_methods(["GET", "POST"])
def client_create_view(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *MANAGERS)
    managers = account_manager_choices(organization=request.organization)
    form = ClientForm(request.POST or None, account_managers=managers)
    if request.method == "POST" and form.is_valid():
        try:
            client = client_create(organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Client “{client.name}” created.")
            return redirect("clients:client_detail", org=org, pk=client.pk)
    return _client_form_page(
        request,
        {
            "title": "New client",
            "form": form,
            "action": reverse("clients:client_create", kwargs={"org": org}),
            "cancel_url": reverse("clients:client_list", kwargs={"org": org}),
            "submit_label": "Create client",
        },
    )


def _client_or_404(request: HttpRequest, pk: int) -> Client:
    client = client_get(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    return client


@dataclass(frozen=True)
class TopUpPanel:
    """A block's top-ups as the client page shows them, oldest first."""

    contract: Contract
    top_ups: list[BlockTopUp]
    form: BlockTopUpForm | None
    today: datetime.date
    error: str = ""

    @property
    def minutes(self) -> int:
        return sum(top_up.minutes for top_up in self.top_ups)

    @property
    def price(self) -> Decimal:
        return sum((top_up.price for top_up in self.top_ups), ZERO)


def _is_block(contract: Contract) -> bool:
    return contract.kind == Contract.Kind.BLOCK


@dataclass(frozen=True)
class ContractRow:
    """One contract on the client page: its card, the form adding a scope
    rule (managers) and, for a block of hours, its top-ups."""

    card: ContractCard
    add_form: ScopeRuleForm | None
    top_ups: TopUpPanel | None
    sla_calendar: "SLACalendarPanel | None" = None


@require_GET
def client_detail_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request)
    client = _client_or_404(request, pk)
    page = client_page(organization=request.organization, client=client)
    can_manage = membership.role in MANAGERS
    blocks = [card.contract for card in page.contracts if _is_block(card.contract)]
    top_ups = _top_ups_by_contract(request.organization, blocks)
    calendars = sla_calendars_by_contract(
        organization=request.organization,
        contracts=[card.contract for card in page.contracts if card.contract.has_sla_calendar],
    )
    context = {
        "client": client,
        "page": page,
        "contract_rows": [
            ContractRow(
                card=card,
                add_form=_add_rule_form(card) if can_manage else None,
                top_ups=TopUpPanel(
                    contract=card.contract,
                    top_ups=top_ups.get(card.contract.pk, []),
                    form=_top_up_form(card.contract, page.today) if can_manage else None,
                    today=page.today,
                )
                if _is_block(card.contract)
                else None,
                sla_calendar=_sla_calendar_panel(
                    request,
                    card.contract,
                    calendars.get(card.contract.pk, []),
                    can_manage=can_manage,
                    today=page.today,
                ),
            )
            for card in page.contracts
        ],
        "can_manage": can_manage,
    }
    return render(request, "clients/client_detail.html", context)


@require_http_methods(["GET", "POST"])
def client_update_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *MANAGERS)
    client = _client_or_404(request, pk)
    managers = account_manager_choices(
        organization=request.organization, keep=client.account_manager_id
    )
    form = ClientForm(
        request.POST or None, initial=ClientForm.initial_for(client), account_managers=managers
    )
    if request.method == "POST" and form.is_valid():
        try:
            client_update(client=client, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            client.refresh_from_db()  # the page title shows the saved name
        else:
            messages.success(request, f"Client “{client.name}” saved.")
            return redirect("clients:client_detail", org=org, pk=client.pk)
    detail_url = reverse("clients:client_detail", kwargs={"org": org, "pk": pk})
    return _client_form_page(
        request,
        {
            "title": f"Edit {client.name}",
            "form": form,
            "action": reverse("clients:client_update", kwargs={"org": org, "pk": pk}),
            "cancel_url": detail_url,
            "submit_label": "Save client",
        },
    )


# --- scope rules (inline on the client page) ----------------------------------
# A rule is a series of revisions: editing adds a revision from a date, ending
# adds a "removed" revision; the page shows each rule's revision in force today,
# those planned after today and, in a <details>, every revision.
def _add_rule_form(card, data=None) -> ScopeRuleForm:
    return ScopeRuleForm(
        data,
        request_types=card.unruled_request_types,
        auto_id=f"add-rule-{card.contract.pk}-%s",
    )


def _rule_form(rule, today, data=None) -> ScopeRuleForm:
    # A rule in force gets a revision from today; a planned one is corrected.
    effective_from = max(today, rule.contract.starts_on, rule.effective_from)
    return ScopeRuleForm(
        data,
        initial=ScopeRuleForm.initial_for(rule, effective_from=effective_from),
        auto_id=f"rule-{rule.pk}-%s",
    )


def _client_anchor(org: str, client_pk: int, contract_pk: int) -> str:
    url = reverse("clients:client_detail", kwargs={"org": org, "pk": client_pk})
    return f"{url}#contract-{contract_pk}"


def _scope_rule_or_404(request: HttpRequest, pk: int):
    rule = scope_rule_get(organization=request.organization, pk=pk)
    if rule is None:
        raise Http404("No such scope rule.")
    return rule


def _rule_row_response(request: HttpRequest, rule, **extra) -> HttpResponse:
    row = scope_rule_row(organization=request.organization, scope_rule=rule)
    return render(
        request,
        "clients/client_detail.html#scope-rule-row",
        {"can_manage": True, "row": row, **extra},
    )


def _contract_rules_response(request: HttpRequest, contract, add_form=None) -> HttpResponse:
    card = contract_card(organization=request.organization, contract=contract)
    return render(
        request,
        "clients/client_detail.html#contract-rules",
        {"card": card, "add_form": add_form or _add_rule_form(card), "can_manage": True},
    )


@require_http_methods(["GET", "POST"])
def scope_rule_edit_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """GET: the inline edit form (htmx) or a form page; ``?cancel=1`` gives the
    read row back. POST: add the revision (from the form's date), then the
    rule's read row with its history (htmx) or back to the client."""
    require_role(request, *MANAGERS)
    rule = _scope_rule_or_404(request, pk)
    if request.method == "GET" and request.GET.get("cancel"):
        if not request.htmx:
            return redirect(_client_anchor(org, rule.contract.client_id, rule.contract_id))
        return _rule_row_response(request, rule)
    today = organization_today(organization=request.organization)
    form = _rule_form(rule, today, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        effective_from = data.pop("effective_from")
        try:
            revision = scope_rule_update_service(
                scope_rule=rule, data=data, effective_from=effective_from
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if request.htmx:
                return _rule_row_response(request, revision, saved=revision)
            messages.success(
                request,
                f"Rule for “{rule.request_type.name}” revised from "
                f"{revision.effective_from:%Y-%m-%d}.",
            )
            return redirect(_client_anchor(org, rule.contract.client_id, rule.contract_id))
    if request.htmx:
        return render(
            request, "clients/client_detail.html#scope-rule-form", {"rule": rule, "form": form}
        )
    return _client_form_page(
        request,
        {
            "title": f"{rule.contract}: rule for {rule.request_type.name}",
            "form": form,
            "action": reverse("clients:scope_rule_edit", kwargs={"org": org, "pk": pk}),
            "cancel_url": _client_anchor(org, rule.contract.client_id, rule.contract_id),
            "submit_label": "Save a revision",
        },
    )


@require_http_methods(["GET", "POST"])
def scope_rule_end_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """End a rule from a date (a "removed" revision), or withdraw a revision
    not in force yet when no other date is given. GET: the form (inline for
    htmx). POST: htmx gets the contract's rules section back."""
    require_role(request, *MANAGERS)
    rule = _scope_rule_or_404(request, pk)
    contract = rule.contract
    today = organization_today(organization=request.organization)
    planned = rule.effective_from > today
    form = ScopeRuleEndForm(
        request.POST if request.method == "POST" else None,
        initial={"effective_from": None if planned else max(today, contract.starts_on)},
        auto_id=f"end-rule-{rule.pk}-%s",
    )
    if request.method == "POST" and form.is_valid():
        try:
            removal = scope_rule_delete(
                scope_rule=rule, effective_from=form.cleaned_data["effective_from"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if removal is None:
                done = f"The revision from {rule.effective_from:%Y-%m-%d} was withdrawn."
            else:
                done = f"No rule for “{rule.request_type.name}” from {removal.effective_from:%Y-%m-%d}."
            if request.htmx:
                return _contract_rules_response(request, contract)
            messages.success(request, done)
            return redirect(_client_anchor(org, contract.client_id, contract.pk))
    if request.htmx:
        return render(
            request,
            "clients/client_detail.html#scope-rule-end-form",
            {"rule": rule, "form": form, "planned": planned},
        )
    return _client_form_page(
        request,
        {
            "title": f"{contract}: end the rule for {rule.request_type.name}",
            "form": form,
            "action": reverse("clients:scope_rule_end", kwargs={"org": org, "pk": pk}),
            "cancel_url": _client_anchor(org, contract.client_id, contract.pk),
            "submit_label": "Withdraw this revision" if planned else "End the rule",
        },
    )


@require_http_methods(["GET", "POST"])
def scope_rule_create_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Add a rule to a contract for a request type it has no rule for yet.
    htmx gets the contract's rules section back."""
    require_role(request, *MANAGERS)
    contract = _contract_or_404(request, pk)
    card = contract_card(organization=request.organization, contract=contract)
    form = _add_rule_form(card, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = scope_rule_create(
                organization=request.organization, contract=contract, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not request.htmx:
                messages.success(request, f"Rule for “{rule.request_type.name}” added.")
                return redirect(_client_anchor(org, contract.client_id, contract.pk))
            card = contract_card(organization=request.organization, contract=contract)
            form = _add_rule_form(card)
    if request.htmx:
        return render(
            request,
            "clients/client_detail.html#contract-rules",
            {"card": card, "add_form": form, "can_manage": True},
        )
    return _client_form_page(
        request,
        {
            "title": f"{contract}: add a scope rule",
            "form": form,
            "action": reverse("clients:scope_rule_create", kwargs={"org": org, "pk": pk}),
            "cancel_url": _client_anchor(org, contract.client_id, contract.pk),
            "submit_label": "Add rule",
            "empty_message": None
            if card.unruled_request_types
            else "Every active request type already has a rule in this contract.",
        },
    )


# --- block top-ups (inline on the client page) ---------------------------------
def _top_ups_by_contract(organization, contracts: list[Contract]) -> dict[int, list[BlockTopUp]]:
    """The top-ups of the given blocks in one query (none without blocks).
    Read here until clients/selectors.py gains a top-up selector."""
    if not contracts:
        return {}
    by_contract: dict[int, list[BlockTopUp]] = {}
    for top_up in BlockTopUp.objects.filter(
        organization=organization, contract__in=[contract.pk for contract in contracts]
    ).order_by("added_on", "pk"):
        by_contract.setdefault(top_up.contract_id, []).append(top_up)
    return by_contract


def _top_up_form(contract: Contract, today: datetime.date, data=None) -> BlockTopUpForm:
    added_on = max(today, contract.starts_on)
    if contract.ends_on is not None:
        added_on = min(added_on, contract.ends_on)
    return BlockTopUpForm(data, initial={"added_on": added_on}, auto_id=f"top-up-{contract.pk}-%s")


def _top_up_panel(request: HttpRequest, contract: Contract, form=None, **extra) -> TopUpPanel:
    today = organization_today(organization=request.organization)
    return TopUpPanel(
        contract=contract,
        top_ups=_top_ups_by_contract(request.organization, [contract]).get(contract.pk, []),
        form=form if form is not None else _top_up_form(contract, today),
        today=today,
        **extra,
    )


def _top_ups_response(request: HttpRequest, panel: TopUpPanel, **extra) -> HttpResponse:
    return render(
        request,
        "clients/client_detail.html#contract-top-ups",
        {"panel": panel, "can_manage": True, **extra},
    )


def _contract_or_404(request: HttpRequest, pk: int) -> Contract:
    contract = contract_get(organization=request.organization, pk=pk)
    if contract is None:
        raise Http404("No such contract.")
    return contract


@require_http_methods(["GET", "POST"])
def block_top_up_create_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Add prepaid time to a block of hours. htmx gets the block's top-ups
    section back (with the form's errors, or a fresh form)."""
    require_role(request, *MANAGERS)
    contract = _contract_or_404(request, pk)
    today = organization_today(organization=request.organization)
    form = _top_up_form(contract, today, request.POST if request.method == "POST" else None)
    saved = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = block_top_up_create(
                organization=request.organization, contract=contract, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if not request.htmx:
                messages.success(
                    request, f"Top-up of {saved.minutes} min added on {saved.added_on:%Y-%m-%d}."
                )
                return redirect(_client_anchor(org, contract.client_id, contract.pk))
            form = None  # a fresh form
    if request.htmx:
        return _top_ups_response(request, _top_up_panel(request, contract, form), saved=saved)
    return _client_form_page(
        request,
        {
            "title": f"{contract}: add a top-up",
            "form": form,
            "action": reverse("clients:block_top_up_create", kwargs={"org": org, "pk": pk}),
            "cancel_url": _client_anchor(org, contract.client_id, contract.pk),
            "submit_label": "Add top-up",
        },
    )


@require_http_methods(["POST"])
def block_top_up_delete_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Withdraw a top-up added by mistake. htmx gets the block's top-ups
    section back; a refusal is shown there (or as a message)."""
    require_role(request, *MANAGERS)
    top_up = (
        BlockTopUp.objects.filter(organization=request.organization, pk=pk)
        .select_related("contract")
        .first()
    )
    if top_up is None:
        raise Http404("No such top-up.")
    contract = top_up.contract
    error = ""
    try:
        block_top_up_delete(top_up=top_up)
    except ValidationError as refused:
        error = " ".join(refused.messages)
    if request.htmx:
        return _top_ups_response(request, _top_up_panel(request, contract, error=error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"The top-up of {top_up.added_on:%Y-%m-%d} was withdrawn.")
    return redirect(_client_anchor(org, contract.client_id, contract.pk))


# --- SLA calendars (inline on the client page) ----------------------------------
@dataclass(frozen=True)
class SLACalendarPanel:
    """A contract's business hours as the client page shows them: the version
    in force, every version, the next closed days and (managers) the form
    setting a new version."""

    contract: Contract
    current: SLACalendar | None
    versions: list[SLACalendar]
    week: list[tuple[str, str]]  # (weekday, "09:00–17:30 · …" or "closed")
    zone: str
    next_closed: list[tuple[datetime.date, str]]
    form: SLACalendarForm | None
    saved: SLACalendar | None = None


SLA_NEXT_CLOSED = 6


def _sla_calendar_form(contract: Contract, current: SLACalendar | None, data=None):
    return SLACalendarForm(
        data,
        initial=SLACalendarForm.initial_for(current),
        auto_id=f"sla-calendar-{contract.pk}-%s",
    )


def _sla_calendar_panel(
    request: HttpRequest,
    contract: Contract,
    versions: list[SLACalendar],
    *,
    can_manage: bool,
    today: datetime.date,
    form: SLACalendarForm | None = None,
    saved: SLACalendar | None = None,
) -> SLACalendarPanel:
    from tickets.services.sla import business_calendar  # the clock the tickets run on

    current = next((v for v in versions if getattr(v, "in_force", False)), None)
    week, next_closed = [], []
    zone = request.organization.timezone
    if current is not None:
        zone = current.time_zone or zone
        for name, intervals in zip(
            ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            current.hours,
            strict=False,
        ):
            week.append((name, " · ".join(f"{s}–{e}" for s, e in intervals) or "closed"))
        clock = business_calendar(calendar=current, organization=request.organization)
        next_closed = clock.closed_between(today, today + datetime.timedelta(days=366))[
            :SLA_NEXT_CLOSED
        ]
    if can_manage and form is None:
        form = _sla_calendar_form(contract, current)
    return SLACalendarPanel(
        contract=contract,
        current=current,
        versions=versions,
        week=week,
        zone=zone,
        next_closed=next_closed,
        form=form if can_manage else None,
        saved=saved,
    )


def _sla_calendar_errors(form: SLACalendarForm, error: ValidationError) -> None:
    """The service's errors on the form; an error of the week's hours goes
    beside the weekday it names."""
    if hasattr(error, "error_dict") and "hours" in error.error_dict:
        messages_ = error.message_dict
        for message in messages_.pop("hours"):
            day = message.split(":", 1)[0].strip().lower()
            form.add_error(day if day in form.fields else None, message)
        error = ValidationError(messages_) if messages_ else None
    if error is not None:
        add_service_errors(form, error)


@require_http_methods(["GET", "POST"])
def contract_sla_calendar_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Set a new version of a contract's business hours, effective now (old
    versions stay: tickets keep the one they were opened under). htmx gets the
    contract's calendar section back (with the form's errors, or saved)."""
    require_role(request, *MANAGERS)
    contract = _contract_or_404(request, pk)
    today = organization_today(organization=request.organization)
    versions = sla_calendars_by_contract(organization=request.organization, contracts=[contract])
    versions = versions.get(contract.pk, [])
    current = next((v for v in versions if v.in_force), None)
    form = _sla_calendar_form(contract, current, request.POST if request.method == "POST" else None)
    saved = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = sla_calendar_set(
                contract=contract, data=form.calendar_data(), actor=request.membership
            )
        except ValidationError as error:
            _sla_calendar_errors(form, error)
        else:
            if not request.htmx:
                messages.success(request, f"Business hours of {contract.name} saved.")
                return redirect(_client_anchor(org, contract.client_id, contract.pk))
            versions = sla_calendars_by_contract(
                organization=request.organization, contracts=[contract]
            ).get(contract.pk, [])
            form = None  # a fresh form, from the saved version
    if request.htmx:
        panel = _sla_calendar_panel(
            request, contract, versions, can_manage=True, today=today, form=form, saved=saved
        )
        return render(
            request,
            "clients/partials/contract-sla-calendar.html",
            {"panel": panel, "can_manage": True},
        )
    return _client_form_page(
        request,
        {
            "title": f"{contract}: business hours",
            "form": form,
            "action": reverse("clients:contract_sla_calendar", kwargs={"org": org, "pk": pk}),
            "cancel_url": _client_anchor(org, contract.client_id, contract.pk),
            "submit_label": "Save business hours",
        },
    )


# --- request types ----------------------------------------------------------
@require_http_methods(["GET", "POST"])
def request_type_list_view(request: HttpRequest, org: str) -> HttpResponse:
    """The catalogue: everyone reads it; admins add to it."""
    membership = require_role(request)
    can_manage = membership.role in ADMINS
    if request.method == "POST":
        require_role(request, *ADMINS)
    form = RequestTypeForm(request.POST or None) if can_manage else None
    if request.method == "POST" and form.is_valid():
        try:
            request_type = request_type_create(
                organization=request.organization, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Request type “{request_type.name}” added.")
            if not request.htmx:
                return redirect("clients:request_type_list", org=org)
            form = RequestTypeForm()
    context = {
        "request_types": request_type_list(organization=request.organization),
        "form": form,
        "can_manage": can_manage,
    }
    return render(
        request,
        htmx_template(request, "clients/request_type_list.html", "request-type-panel"),
        context,
    )
