"""What finance does on a client's period: start the review, lock, unlock
(admins), settle an exception inline (classify, write off, resolve a flag,
send back), download the exports of a locked month, add an adjustment.

Every action refuses members outside finance and admins (403) before it
looks at the period; the answer is the period page's main part (htmx) or
the page (see :func:`billing.views.finance.period_answer`)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from msops.display import member_name
from msops.forms import add_service_errors
from msops.tenancy.roles import ADMINS, require_role
from msops.tenancy.selectors import membership_list
from tickets.models import Ticket
from tickets.services import TicketConflict

from .. import exports
from ..models import BillingPeriod, ExceptionFlag
from ..pricing import Action
from ..selectors import finance_pages as selectors
from ..services.finance_actions import (
    exception_classify,
    exception_resolve_flag,
    exception_write_off,
)
from ..services.periods import (
    FINANCE,
    adjustment_create,
    drafts_compute,
    period_lock,
    period_mark_exported,
    period_start_review,
    period_unlock,
    send_back,
)
from .finance import period_answer, period_or_404
from .finance_forms import (
    AdjustmentForm,
    ClassifyForm,
    ExportForm,
    ResolveFlagForm,
    SendBackForm,
    UnlockForm,
    VersionForm,
    WriteOffForm,
    blocker_prefix,
)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _refresh_draft(period: BillingPeriod) -> None:
    """The saved draft follows what finance settled (so each line can be
    explained); a closed period keeps its frozen draft."""
    drafts_compute(
        organization=period.client.organization, month=period.month, client_ids=[period.client_id]
    )


@require_POST
def finance_period_start_review(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    form = VersionForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    try:
        period_start_review(period=period, actor=membership, version=version)
    except ValidationError as exc:
        return period_answer(request, period, failed=True, error=_errors(exc))
    return period_answer(request, period, done="Review started: the draft is saved as it is now.")


@require_POST
def finance_period_lock(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Lock the month; refused, with the reason, while exceptions block it."""
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    form = VersionForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    try:
        period_lock(period=period, actor=membership, version=version)
    except ValidationError as exc:
        return period_answer(request, period, failed=True, lock_error=_errors(exc))
    return period_answer(
        request, period, done=f"{period.client.name} {period.month:%Y-%m} is locked."
    )


@require_POST
def finance_period_unlock(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Admins reopen a locked month for review, with a reason."""
    membership = require_role(request, *ADMINS)
    period = period_or_404(request, pk, membership)
    form = UnlockForm(request.POST)
    if form.is_valid():
        try:
            period_unlock(
                period=period,
                actor=membership,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return period_answer(request, period, done="Unlocked: the period is in review again.")
    return period_answer(request, period, failed=True, unlock_form=form)


# --- exceptions, inline ---------------------------------------------------------------------
def _blocker_form(request: HttpRequest, action: str, cls, **kwargs):
    key = (request.POST.get("blocker") or "")[:60]
    return key, cls(request.POST, prefix=blocker_prefix(action, key), **kwargs)


def _client_ticket(request: HttpRequest, period: BillingPeriod, pk) -> Ticket | None:
    if not pk:
        return None
    return Ticket.objects.filter(
        organization=request.organization, client=period.client_id, pk=pk
    ).first()


def _exception_answer(request, period, key, action, form, done: str) -> HttpResponse:
    if form.errors:
        return period_answer(request, period, failed=True, posted={key: (action, form)})
    _refresh_draft(period)
    return period_answer(request, period, done=done)


def _act(form, call) -> None:
    """Run the service call; its errors go on the form."""
    try:
        call()
    except ValidationError as exc:
        add_service_errors(form, exc)
    except TicketConflict:
        form.add_error(None, "Someone changed the ticket meanwhile: look again and retry.")


def _on_ticket(request: HttpRequest, pk: int, action: str, form_class, service, done):
    """An inline action on one of the period's tickets: the form, the
    client's ticket, the service (``service(period, ticket, membership,
    cleaned)``) and the answer (``done(ticket, cleaned)`` when it went through)."""
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    key, form = _blocker_form(request, action, form_class)
    ticket = None
    if form.is_valid():
        ticket = _client_ticket(request, period, form.cleaned_data["ticket"])
        if ticket is None:
            form.add_error(None, "The ticket is not this client's.")
        else:
            _act(form, lambda: service(period, ticket, membership, form.cleaned_data))
    answer = "" if form.errors else done(ticket, form.cleaned_data)
    return _exception_answer(request, period, key, action, form, answer)


@require_POST
def finance_exception_classify(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    return _on_ticket(
        request, pk, Action.CLASSIFY, ClassifyForm,
        lambda period, ticket, actor, data: exception_classify(
            period=period, ticket=ticket, actor=actor,
            classification=data["classification"], reason=data["reason"],
        ),
        lambda ticket, data: f"Classified {data['classification']}: #{ticket.number}.",
    )  # fmt: skip


@require_POST
def finance_exception_write_off(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    return _on_ticket(
        request, pk, Action.WRITE_OFF, WriteOffForm,
        lambda period, ticket, actor, data: exception_write_off(
            period=period, ticket=ticket, actor=actor, reason=data["reason"]
        ),
        lambda ticket, data: f"Written off: #{ticket.number}.",
    )  # fmt: skip


@require_POST
def finance_exception_resolve_flag(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    key, form = _blocker_form(request, Action.RESOLVE_FLAG, ResolveFlagForm)
    if form.is_valid():
        flag = ExceptionFlag.objects.filter(
            organization=request.organization, pk=form.cleaned_data["flag"]
        ).first()
        if flag is None:
            form.add_error(None, "No such flag.")
        else:
            _act(
                form,
                lambda: exception_resolve_flag(
                    period=period, flag=flag, actor=membership, note=form.cleaned_data["note"]
                ),
            )
    return _exception_answer(request, period, key, Action.RESOLVE_FLAG, form, "Flag resolved.")


@require_POST
def finance_send_back(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Send the question back (to the person who decided, by default): it
    shows in their review queue and on their home page."""
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    members = membership_list(organization=request.organization)
    key, form = _blocker_form(request, Action.SEND_BACK, SendBackForm, members=members)
    if form.is_valid():
        ticket = _client_ticket(request, period, form.cleaned_data["ticket"])
        if form.cleaned_data["ticket"] and ticket is None:
            form.add_error(None, "The ticket is not this client's.")
        else:
            _act(
                form,
                lambda: send_back(
                    period=period,
                    actor=membership,
                    to=form.cleaned_data["to"],
                    note=form.cleaned_data["note"],
                    ticket=ticket,
                    subject=key,
                ),
            )
    done = "" if form.errors else f"Sent back to {member_name(form.cleaned_data['to'])}."
    return _exception_answer(request, period, key, Action.SEND_BACK, form, done)


# --- exports and adjustments ----------------------------------------------------------------
@require_POST
def finance_period_export(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Download the locked period (CSV for Xero or QuickBooks, JSON, the time
    entries); each download is recorded. An open period gives no file."""
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return period_answer(request, period, failed=True, error="Choose an export format.")
    try:
        with transaction.atomic():
            period_mark_exported(period=period, actor=membership)
            content, content_type, filename = exports.export_file(
                period, form.cleaned_data["format"]
            )
    except ValidationError as exc:
        return period_answer(request, period, failed=True, error=_errors(exc))
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def finance_adjustment_create(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """A correction to a locked month, billed in the client's next open one."""
    membership = require_role(request, *FINANCE)
    period = period_or_404(request, pk, membership)
    contracts = selectors.client_contracts(organization=request.organization, client=period.client)
    form = AdjustmentForm(request.POST, contracts=contracts)
    if form.is_valid():
        try:
            adjustment = adjustment_create(
                corrects=period,
                actor=membership,
                description=form.cleaned_data["description"],
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                contract=form.cleaned_data["contract"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return period_answer(
                request,
                period,
                done=f"Adjustment of {adjustment.currency} {adjustment.amount} added: billed"
                f" in {adjustment.period.month:%Y-%m}.",
                adjustment_done=adjustment,
            )
    return period_answer(request, period, failed=True, adjustment_form=form)
