"""Finance pages: the month's pre-invoice review, a client's billing period
(lines, exceptions settled inline, review → lock → export, adjustments).
"Explain this line" and a contract's usage are in finance_explain.py.

Who may do what (billing.services.periods):
- finance and admins read and act; only admins unlock;
- account managers read their own clients' months and periods;
- developers have no access (403), another organization's rows are 404.

Views parse input and call the services; htmx gets the named partial of the
same template back (the period's main part after an action, the progress
bar while drafts are computed), a plain post goes back to the page. The
period's actions are in finance_actions.py."""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.models import Client
from clients.selectors import client_get
from msops.calendar import parse_month
from msops.htmx import render_local
from msops.tenancy.models import Membership
from msops.tenancy.roles import ADMINS, FINANCE, require_role
from msops.tenancy.roles import MONEY_READERS as READERS
from msops.tenancy.selectors import membership_list
from msops.timezones import organization_today

from ..models import BillingPeriod, DraftRun
from ..pricing import Action
from ..selectors import finance_pages as selectors
from ..services.periods import (
    draft_run_start,
    period_get,
    period_review,
)
from .finance_forms import (
    AdjustmentForm,
    ClassifyForm,
    ExportForm,
    ResolveFlagForm,
    SendBackForm,
    UnlockForm,
    WriteOffForm,
    blocker_prefix,
)

MONTH_TEMPLATE = "billing/finance_month.html"
PERIOD_TEMPLATE = "billing/finance_period.html"
RUNNING = (DraftRun.Status.QUEUED, DraftRun.Status.RUNNING)


def require_client_reader(membership: Membership, client: Client) -> None:
    """403 unless the member reads the client's money
    (:func:`billing.selectors.finance_pages.money_reach`)."""
    if not selectors.money_reach(membership=membership).allows(client):
        raise PermissionDenied("Only the client's account manager and finance read its billing.")


def period_or_404(request: HttpRequest, pk: int, membership: Membership) -> BillingPeriod:
    period = selectors.period_get_for_page(organization=request.organization, pk=pk)
    if period is None:
        raise Http404("No such billing period.")
    require_client_reader(membership, period.client)
    return period


def _month_label(month: datetime.date) -> str:
    return f"{month:%Y-%m}"


# --- the month's review ---------------------------------------------------------------------
def _run_context(request: HttpRequest, month: datetime.date) -> dict:
    run = selectors.draft_run_latest(organization=request.organization, month=month)
    return {
        "month": month,
        "run": run,
        "running": run is not None and run.status in RUNNING,
        "can_act": request.membership.role in FINANCE,
    }


def _month_page(request: HttpRequest, month: datetime.date) -> HttpResponse:
    membership = require_role(request, *READERS)
    part = request.GET.get("part") if request.htmx else None
    if part == "progress":
        context = _run_context(request, month)
        response = render_local(request, f"{MONTH_TEMPLATE}#draft-run", context)
        if context["run"] is not None and not context["running"] and request.GET.get("was"):
            response["HX-Trigger"] = "drafts-computed"  # the table shows the new drafts
        return response
    review = selectors.month_review(
        organization=request.organization,
        month=month,
        client_ids=selectors.readable_client_ids(membership=membership),
    )
    today = organization_today(request.organization)
    before, after = selectors.previous_month(month), selectors.next_month(month)
    context = {
        **_run_context(request, month),
        "review": review,
        "previous_month": before,
        "next_month": after,
        # Links only to months a URL may name (years 1900–9998).
        "has_previous": parse_month(before) is not None,
        "has_next": parse_month(after) is not None,
        "is_current": month == today.replace(day=1),
        "own_clients_only": not selectors.money_reach(membership=membership).every_client,
        "org_currency": request.organization.currency,
    }
    template = f"{MONTH_TEMPLATE}#month-table" if part == "table" else MONTH_TEMPLATE
    return render_local(request, template, context)


@require_GET
def finance_current(request: HttpRequest, org: str) -> HttpResponse:
    """This month's review, in the organization's timezone."""
    return _month_page(request, organization_today(request.organization).replace(day=1))


@require_GET
def finance_month(request: HttpRequest, org: str, month: datetime.date) -> HttpResponse:
    """Every client of the month: draft, change, margin, status, exceptions."""
    return _month_page(request, month)


@require_POST
def finance_compute(request: HttpRequest, org: str, month: datetime.date) -> HttpResponse:
    """Compute every client's draft for the month in the background."""
    membership = require_role(request, *FINANCE)
    run = draft_run_start(organization=request.organization, month=month, actor=membership)
    if request.htmx:
        context = _run_context(request, run.month)
        response = render_local(request, f"{MONTH_TEMPLATE}#draft-run", context)
        if not context["running"]:  # done already (a worker that fast, or eager tasks)
            response["HX-Trigger"] = "drafts-computed"
        return response
    messages.success(request, f"Computing the drafts of {_month_label(month)}.")
    return redirect("billing:finance_month", org=org, month=month)


@require_http_methods(["GET", "POST"])
def finance_client_month(
    request: HttpRequest, org: str, month: datetime.date, pk: int
) -> HttpResponse:
    """A client's period of the month. Its page when it exists; else the
    month as it would be billed, read without writing anything — finance
    opens the period (POST) to act on it."""
    membership = require_role(request, *(FINANCE if request.method == "POST" else READERS))
    client = client_get(organization=request.organization, pk=pk)
    if client is None:
        raise Http404("No such client.")
    require_client_reader(membership, client)
    if request.method == "POST":
        period = period_get(client=client, month=month)
        return redirect("billing:finance_period", org=org, pk=period.pk)
    period = selectors.period_find(organization=request.organization, client=client, month=month)
    if period is not None:
        return redirect("billing:finance_period", org=org, pk=period.pk)
    unsaved = BillingPeriod(organization=request.organization, client=client, month=month)
    template = f"{PERIOD_TEMPLATE}#period-main" if request.htmx else PERIOD_TEMPLATE
    return render_local(request, template, _period_context(request, unsaved))


# --- a client's period ----------------------------------------------------------------------
def _blocker_form_for(posted: dict, key: str, action: str, cls, initial: dict, **kwargs):
    """The exception's form for ``action``: as posted (with its errors) if it
    was the one posted, else a fresh one."""
    action_posted, form_posted = posted.get(key, (None, None))
    if action_posted == action:
        return form_posted
    return cls(prefix=blocker_prefix(action, key), initial=initial, **kwargs)


def _blocker_rows(blockers, members, can_act: bool, posted: dict) -> list[dict]:
    owners = {m.pk: m for m in members}
    rows = []
    for blocker in blockers:
        key = blocker.key
        actions = set(blocker.actions) if can_act else set()
        forms = {}
        if blocker.ticket_id and Action.CLASSIFY in actions:
            forms["classify"] = _blocker_form_for(
                posted, key, Action.CLASSIFY, ClassifyForm, {"ticket": blocker.ticket_id}
            )
        if blocker.ticket_id and Action.WRITE_OFF in actions:
            forms["write_off"] = _blocker_form_for(
                posted, key, Action.WRITE_OFF, WriteOffForm, {"ticket": blocker.ticket_id}
            )
        if blocker.flag_id and Action.RESOLVE_FLAG in actions:
            forms["resolve_flag"] = _blocker_form_for(
                posted, key, Action.RESOLVE_FLAG, ResolveFlagForm, {"flag": blocker.flag_id}
            )
        if Action.SEND_BACK in actions:
            # The page renders the member list once for every exception's
            # select; the form only checks the choice when posted.
            forms["send_back"] = _blocker_form_for(
                posted,
                key,
                Action.SEND_BACK,
                SendBackForm,
                {"to": blocker.owner_id, "ticket": blocker.ticket_id},
                members=Membership.objects.none(),
            )
        rows.append(
            {
                "blocker": blocker,
                "key": key,
                "dom_id": blocker_prefix("blocker", key),
                "owner": owners.get(blocker.owner_id),
                "forms": forms,
                "fix_terms": Action.FIX_TERMS in actions,
            }
        )
    return rows


def _period_context(
    request: HttpRequest,
    period: BillingPeriod,
    *,
    done: str = "",
    error: str = "",
    posted: dict | None = None,
    lock_error: str = "",
    unlock_form: UnlockForm | None = None,
    adjustment_form: AdjustmentForm | None = None,
    adjustment_done=None,
) -> dict:
    organization = request.organization
    membership = request.membership
    opened = period.pk is not None  # else the month read before its period is opened
    can_act = membership.role in FINANCE and opened
    contracts = list(selectors.client_contracts(organization=organization, client=period.client))
    if period.is_closed:
        charges, blockers = None, []
    else:
        charges, blockers = period_review(period=period)
    members = list(membership_list(organization=organization))
    lines = selectors.period_lines(period=period, charges=charges, contracts=contracts)
    rows = _blocker_rows(blockers, members, can_act and not period.is_closed, posted or {})
    # An action on an exception that is no longer shown (settled meanwhile,
    # or the period locked): its errors go above the page.
    shown = {row["key"] for row in rows}
    for key, (_, form) in (posted or {}).items():
        if key not in shown:
            messages_ = [m for errors in form.errors.values() for m in errors]
            error = " ".join([error, *messages_]).strip()
    context = {
        "period": period,
        "client": period.client,
        "lines": lines,
        "blockers": rows,
        "members": members,
        "events": list(selectors.period_events(period=period)),
        "can_act": can_act,
        "can_open": membership.role in FINANCE and not opened,
        "can_unlock": membership.role in ADMINS,
        "done": done,
        "error": error,
        "lock_error": lock_error,
        "export_formats": ExportForm.base_fields["format"].choices,
        # Locking before the month is over refuses the rest of its time: say so.
        "month_running": period.month == organization_today(organization).replace(day=1),
    }
    if period.is_closed:
        context.update(
            adjustments=list(selectors.period_adjustments(period=period)),
            lands_in=selectors.adjustment_lands_in(period=period),
            unlock_form=unlock_form or UnlockForm(initial={"version": period.version}),
            adjustment_form=adjustment_form
            or AdjustmentForm(
                contracts=selectors.client_contracts(
                    organization=organization, client=period.client
                )
            ),
            adjustment_done=adjustment_done,
        )
    return context


def period_answer(
    request: HttpRequest, period: BillingPeriod, *, failed: bool = False, **context
) -> HttpResponse:
    """htmx: the period's main part with the outcome in place. A plain post:
    back to the page when it worked (PRG), the page with the errors when not."""
    period = selectors.period_get_for_page(organization=request.organization, pk=period.pk)
    if request.htmx:
        return render_local(
            request, f"{PERIOD_TEMPLATE}#period-main", _period_context(request, period, **context)
        )
    if not failed:
        if context.get("done"):
            messages.success(request, context["done"])
        return redirect("billing:finance_period", org=request.organization.slug, pk=period.pk)
    return render_local(
        request, PERIOD_TEMPLATE, _period_context(request, period, **context), status=400
    )


@require_GET
def finance_period(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A client's month: status and history, the lines by contract, the
    exceptions that block it and what finance can do about each."""
    membership = require_role(request, *READERS)
    period = period_or_404(request, pk, membership)
    template = f"{PERIOD_TEMPLATE}#period-main" if request.htmx else PERIOD_TEMPLATE
    return render_local(request, template, _period_context(request, period))
