"""Pages of recurring work and risks: one list everyone reads (filtered by
client and owner), and the forms and buttons with which admins and account
managers create, change, deactivate and close them.

Every write goes through :mod:`transitions.services`; a refused write shows
the service's messages on the form's fields and saves nothing."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msops.forms import add_service_errors
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import MANAGERS, require_role
from transitions.forms import RecurringTaskForm, RiskForm, WorkFilterForm
from transitions.models import RecurringTask, Risk
from transitions.selectors import (
    RECENT_OCCURRENCE_DAYS,
    recent_occurrences,
    recurring_task_list,
    risk_list,
)
from transitions.services import (
    recurring_task_create,
    recurring_task_deactivate,
    recurring_task_update,
    risk_close,
    risk_create,
    risk_update,
)


def _work_list_url(org: str) -> str:
    return reverse("transitions:work_list", kwargs={"org": org})


@require_GET
def work_list_view(request: HttpRequest, org: str) -> HttpResponse:
    """Recurring tasks and the risks not closed yet, for every member."""
    membership = require_role(request)
    organization = request.organization
    form = WorkFilterForm(request.GET or None, organization=organization)
    form.is_valid()  # an invalid filter is shown and ignored; the others apply
    filters = form.filters()
    tasks = recurring_task_list(organization=organization).filter(**filters)
    risks = (
        risk_list(organization=organization).exclude(status=Risk.Status.CLOSED).filter(**filters)
    )
    context = {
        "filter_form": form,
        "filtered": bool(filters),
        "tasks": tasks,
        "risks": risks,
        "occurrences": recent_occurrences(organization=organization, filters=filters),
        "occurrence_days": RECENT_OCCURRENCE_DAYS,
        "can_manage": membership.role in MANAGERS,
    }
    return render_local(
        request, htmx_template(request, "transitions/work_list.html", "work-tables"), context
    )


# --- the form and button pattern every write here shares --------------------------
def _form_page(
    request, org: str, *, form, write, done: str, template: str, context: dict, instance=None
):
    """GET: the form. POST: write through the service (a refusal lands on the
    form's fields, nothing saved) and back to the list with ``done``."""
    if request.method == "POST" and form.is_valid():
        try:
            write(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            if instance is not None:
                instance.refresh_from_db()  # the page title shows what is saved
        else:
            messages.success(request, done)
            return redirect(_work_list_url(org))
    context = {**context, "form": form, "cancel_url": _work_list_url(org)}
    return render_local(request, template, context)


def _button(request, org: str, *, write, done: str) -> HttpResponse:
    """A one-click write (deactivate, close): its refusal or ``done`` as a message."""
    try:
        write()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect(_work_list_url(org))


# --- recurring tasks -------------------------------------------------------------
def _recurring_task_or_404(request: HttpRequest, pk: int) -> RecurringTask:
    task = recurring_task_list(organization=request.organization).filter(pk=pk).first()
    if task is None:
        raise Http404("No such recurring task.")
    return task


@require_http_methods(["GET", "POST"])
def recurring_task_create_view(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *MANAGERS)
    form = RecurringTaskForm(request.POST or None, organization=request.organization)
    title = form.data.get("title", "").strip() if form.is_bound else ""
    return _form_page(
        request, org, form=form,
        write=lambda data: recurring_task_create(organization=request.organization, **data),
        done=f"Recurring task “{title}” created.",
        template="transitions/recurring_task_form.html",
        context={
            "title": "New recurring task",
            "action": reverse("transitions:recurring_task_create", kwargs={"org": org}),
            "submit_label": "Create recurring task",
        },
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def recurring_task_edit_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *MANAGERS)
    task = _recurring_task_or_404(request, pk)
    form = RecurringTaskForm(
        request.POST or None, organization=request.organization, recurring_task=task
    )
    return _form_page(
        request, org, form=form, instance=task,
        write=lambda data: recurring_task_update(recurring_task=task, data=data),
        done=f"Recurring task “{task.title}” saved.",
        template="transitions/recurring_task_form.html",
        context={
            "title": f"Edit {task.title}",
            "subtitle": task.client.name,
            "action": reverse("transitions:recurring_task_edit", kwargs={"org": org, "pk": pk}),
            "submit_label": "Save recurring task",
        },
    )  # fmt: skip


@require_POST
def recurring_task_deactivate_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """Stop opening tickets for the task; its past occurrences stay."""
    require_role(request, *MANAGERS)
    task = _recurring_task_or_404(request, pk)
    return _button(
        request, org, write=lambda: recurring_task_deactivate(recurring_task=task),
        done=f"Recurring task “{task.title}” deactivated.",
    )  # fmt: skip


# --- risks -----------------------------------------------------------------------
def _risk_or_404(request: HttpRequest, pk: int) -> Risk:
    risk = risk_list(organization=request.organization).filter(pk=pk).first()
    if risk is None:
        raise Http404("No such risk.")
    return risk


@require_http_methods(["GET", "POST"])
def risk_create_view(request: HttpRequest, org: str) -> HttpResponse:
    require_role(request, *MANAGERS)
    form = RiskForm(request.POST or None, organization=request.organization)
    client = form.cleaned_data.get("client") if form.is_bound and form.is_valid() else None
    return _form_page(
        request, org, form=form,
        write=lambda data: risk_create(organization=request.organization, **data),
        done=f"Risk for {client.name if client else 'the client'} recorded.",
        template="transitions/risk_form.html",
        context={
            "title": "New risk",
            "action": reverse("transitions:risk_create", kwargs={"org": org}),
            "submit_label": "Record risk",
        },
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def risk_edit_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *MANAGERS)
    risk = _risk_or_404(request, pk)
    form = RiskForm(request.POST or None, organization=request.organization, risk=risk)
    return _form_page(
        request, org, form=form,
        write=lambda data: risk_update(risk=risk, data=data),
        done=f"Risk for {risk.client.name} saved.",
        template="transitions/risk_form.html",
        context={
            "title": f"Edit a risk of {risk.client.name}",
            "action": reverse("transitions:risk_edit", kwargs={"org": org, "pk": pk}),
            "submit_label": "Save risk",
        },
    )  # fmt: skip


@require_POST
def risk_close_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    require_role(request, *MANAGERS)
    risk = _risk_or_404(request, pk)
    return _button(
        request, org, write=lambda: risk_close(risk=risk),
        done=f"Risk for {risk.client.name} closed.",
    )  # fmt: skip
