"""Registers the billing API viewsets on the v1 router (msops/api_urls.py)."""

from . import client_view, decisions, finance, finance_records, insights, jobs, timers, usage


def register(router) -> None:
    # Decisions, scope checks, the decision log and work logged after the fact.
    router.register("decisions", decisions.DecisionViewSet, basename="billing-decision")
    router.register("scope-checks", decisions.ScopeCheckViewSet, basename="scope-check")
    router.register(
        "decision-log", decisions.DecisionLogEntryViewSet, basename="decision-log-entry"
    )
    router.register(
        "work-after-the-fact",
        decisions.WorkAfterTheFactViewSet,
        basename="work-after-the-fact",
    )
    # A ticket's own moments: /tickets/{id}/out-of-scope/ and /tickets/{id}/change-request/.
    router.register("tickets", decisions.TicketMomentViewSet, basename="ticket-moment")
    # What the jobs catch: exception flags and the weekly review.
    router.register("flags", jobs.FlagViewSet, basename="flag")
    router.register("review-queues", jobs.ReviewQueueViewSet, basename="review-queue")
    router.register("review-items", jobs.ReviewItemViewSet, basename="review-item")
    # Finance: billing periods and their exceptions, drafts, lines, adjustments, draft runs.
    router.register("periods", finance.BillingPeriodViewSet, basename="billing-period")
    router.register("invoice-drafts", finance_records.InvoiceDraftViewSet, basename="invoice-draft")
    router.register("invoice-lines", finance_records.InvoiceLineViewSet, basename="invoice-line")
    router.register("adjustments", finance_records.AdjustmentViewSet, basename="adjustment")
    router.register("draft-runs", finance_records.DraftRunViewSet, basename="draft-run")
    # Each contract's usage this month (the figures the pages show).
    router.register("contract-usage", usage.ContractUsageViewSet, basename="contract-usage")
    # The member's own timer and a person's week of time.
    router.register("timers", timers.TimerViewSet, basename="timer")
    router.register("timesheet", timers.TimesheetViewSet, basename="timesheet")
    # Insights: every series, or one (?series=).
    router.register("insights", insights.InsightsViewSet, basename="insights")
    # A client contact's signed, expiring, revocable view link and its log of views.
    router.register(
        "client-view-links", client_view.ClientViewLinkViewSet, basename="client-view-link"
    )
