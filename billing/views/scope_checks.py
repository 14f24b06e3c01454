"""The account manager's scope checks in the browser: the queue of open
checks, and approving, rejecting or asking the client. Views parse input and
call billing.services; htmx gets the check's row again, a plain post goes
back to the queue with a message.

- the queue and its actions: account managers and admins.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from msops.forms import add_service_errors
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import require_role

from ..forms import ApproveForm, AskClientForm, RejectForm
from ..models import ScopeCheck
from ..selectors import scope_checks as selectors
from ..services import (
    APPROVERS,
    scope_check_approve,
    scope_check_ask_client,
    scope_check_reject,
)
from ..services.scope_checks import billed_in_words

QUEUE = "billing/scope_check_queue.html"
PAGE_SIZE = 50


def _row(check: ScopeCheck, now: datetime.datetime, **forms) -> dict:
    prefix = f"check-{check.pk}"
    return {
        "check": check,
        "age": selectors.scope_check_age(check, now),
        "approve_form": forms.get("approve_form") or ApproveForm(prefix=prefix, check=check),
        "reject_form": forms.get("reject_form") or RejectForm(prefix=prefix),
        "ask_form": forms.get("ask_form")
        or AskClientForm(
            prefix=prefix,
            check=check,
            initial={"client_explanation": check.client_explanation},
        ),
        "error": forms.get("error", ""),
        "done": forms.get("done", ""),
    }


@require_GET
def scope_check_queue(request: HttpRequest, org: str) -> HttpResponse:
    """Open scope checks, oldest first: an account manager's own clients',
    an admin's every one."""
    membership = require_role(request, *APPROVERS)
    checks = selectors.scope_check_queue(membership=membership)
    page = Paginator(checks, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    context = {
        "page": page,
        "rows": [_row(check, now) for check in page.object_list],
        "sees_all": membership.role in selectors.SEES_ALL_SCOPE_CHECKS,
    }
    return render_local(request, htmx_template(request, QUEUE, "scope-check-table"), context)


def _check_or_404(request: HttpRequest, pk: int) -> ScopeCheck:
    check = selectors.scope_check_get(organization=request.organization, pk=pk)
    if check is None:
        raise Http404("No such scope check.")
    return check


def _check_answer(
    request: HttpRequest, org: str, pk: int, *, failure: ValidationError | None = None, **row
) -> HttpResponse:
    """htmx: the check's row again, with the outcome or the errors in place
    (field errors on their field); a plain post: back to the queue with a
    message."""
    if not request.htmx:
        if failure is not None:
            messages.error(request, " ".join(failure.messages))
        elif row.get("done"):
            messages.success(request, row["done"])
        return redirect("billing:scope_check_queue", org=org)
    if failure is not None:
        form = row.get("approve_form") or row.get("reject_form") or row.get("ask_form")
        if form is not None and form.errors:
            pass  # the form's own errors, shown on it already
        elif form is not None and set(getattr(failure, "error_dict", ())) & set(form.fields):
            add_service_errors(form, failure)  # beside the field they concern
        else:  # about the check itself (already settled…): the form may be gone
            row["error"] = " ".join(failure.messages)
    check = _check_or_404(request, pk)
    context = {"row": _row(check, timezone.now(), **row)}
    return render_local(request, f"{QUEUE}#scope-check-row", context)


def _invalid(form) -> ValidationError:
    """A form's own errors, as the error of the action (already on the form)."""
    return ValidationError(
        [str(message) for messages in form.errors.values() for message in messages]
    )


@require_POST
def scope_check_approve_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Approve, billed at the time spent or at the estimate (nothing chosen:
    as the check says)."""
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    form = ApproveForm(request.POST, prefix=f"check-{pk}", check=check)
    if not form.is_valid():
        return _check_answer(request, org, pk, approve_form=form, failure=_invalid(form))
    try:
        approved = scope_check_approve(
            check=check,
            actor=membership,
            note=request.POST.get("note", ""),
            bill_as=form.cleaned_data["bill_as"],
        )
    except ValidationError as error:
        return _check_answer(request, org, pk, approve_form=form, failure=error)
    return _check_answer(
        request,
        org,
        pk,
        done=f"Approved: #{check.ticket.number} is billable, {billed_in_words(approved)}.",
    )


@require_POST
def scope_check_reject_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    form = RejectForm(request.POST, prefix=f"check-{pk}")
    if not form.is_valid():
        return _check_answer(request, org, pk, reject_form=form, failure=_invalid(form))
    try:
        scope_check_reject(check=check, actor=membership, note=form.cleaned_data["note"])
    except ValidationError as error:
        return _check_answer(request, org, pk, reject_form=form, failure=error)
    return _check_answer(request, org, pk, done=f"Rejected: #{check.ticket.number} stays included.")


@require_POST
def scope_check_ask_client_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = require_role(request, *APPROVERS)
    check = _check_or_404(request, pk)
    form = AskClientForm(request.POST, prefix=f"check-{pk}", check=check)
    if not form.is_valid():
        return _check_answer(request, org, pk, ask_form=form, failure=_invalid(form))

    def link_url(token: str) -> str:
        return request.build_absolute_uri(
            reverse("public:client_scope_check", kwargs={"token": token})
        )

    try:
        scope_check_ask_client(
            check=check,
            actor=membership,
            client_email=form.cleaned_data["client_email"],
            client_explanation=form.cleaned_data["client_explanation"],
            bill_as=form.cleaned_data["bill_as"],
            link_url=link_url,
        )
    except ValidationError as error:
        return _check_answer(request, org, pk, ask_form=form, failure=error)
    return _check_answer(
        request, org, pk, done=f"Sent to {form.cleaned_data['client_email']}: waiting for them."
    )
