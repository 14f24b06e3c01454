"""Read-only money pages: "explain this line" (written so a client could be
shown it) and a contract's usage this month (the client page and the ticket
page load it in place; the home page of an account manager shows it too).

- explain: finance and admins; account managers for their own clients;
  developers 403 (the rule of :func:`billing.selectors.finance_pages.money_reach`).
- usage: every member (developers see it beside the rule on the ticket),
  the money in it (billable so far) only for who reads the client's money:
  others see the minutes.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from clients.models import Contract
from clients.rules import rule_in_plain_words
from msops.htmx import htmx_template, render_local
from msops.tenancy.roles import MONEY_READERS as READERS
from msops.tenancy.roles import require_role
from msops.timezones import organization_today

from ..pricing import contract_usage
from ..selectors import finance_line as selectors
from ..selectors.finance_pages import money_reach
from .finance import require_client_reader

LINE_TEMPLATE = "billing/finance_line.html"
USAGE_TEMPLATE = "billing/finance_contract_usage.html"


@require_GET
def finance_line(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """What was done, when, by whom, under which rule, who decided or
    approved it, and how the amount came."""
    membership = require_role(request, *READERS)
    line = selectors.line_get(organization=request.organization, pk=pk)
    if line is None:
        raise Http404("No such invoice line.")
    client = line.period.client
    require_client_reader(membership, client)
    sources = selectors.line_sources(line=line)
    rules = [
        {
            "rule": rule,
            "words": rule_in_plain_words(
                name=rule.request_type.name,
                treatment=rule.treatment,
                expected_minutes=rule.expected_minutes,
                approval_threshold_minutes=rule.approval_threshold_minutes,
            ),
        }
        for rule in sources.rules
    ]
    entries = [
        {"entry": e, "on_line": sources.minutes_on_line.get(e.pk, e.minutes)}
        for e in sources.entries
    ]
    context = {
        "line": line,
        "period": line.period,
        "client": client,
        "sources": sources,
        "entries": entries,
        "entries_minutes": sum(e.minutes for e in sources.entries),
        "rules": rules,
        "is_hours": line.unit == "hours",
    }
    return render_local(request, LINE_TEMPLATE, context)


@require_GET
def contract_usage_view(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """The contract's usage this month: allowance used and left (or the
    block's balance), billable so far (money only for who reads the
    client's), waiting for approval."""
    membership = require_role(request)
    contract = (
        Contract.objects.filter(organization=request.organization, pk=pk)
        .select_related("client")
        .first()
    )
    if contract is None:
        raise Http404("No such contract.")
    today = organization_today(request.organization)
    context = {
        "contract": contract,
        "usage": contract_usage(contract=contract, on=today),
        "usage_loaded": True,
        "today": today,
        "hide_money": not money_reach(membership=membership).allows(contract.client),
    }
    return render_local(request, htmx_template(request, USAGE_TEMPLATE, "usage"), context)
