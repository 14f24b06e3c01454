"""Reads of transitions/: querysets already filtered by organization and
joined for the endpoint that uses them, so the number of queries does not
grow with the number of rows."""

from django.db.models import QuerySet

from msops.tenancy.models import Organization

from .models import RecurringOccurrence, RecurringTask, Risk


def recurring_task_list(*, organization: Organization) -> QuerySet[RecurringTask]:
    return (
        RecurringTask.objects.filter(organization=organization)
        .select_related("client", "owner__user", "request_type")
        .order_by("client__name", "title", "pk")
    )


def recurring_occurrence_list(*, organization: Organization) -> QuerySet[RecurringOccurrence]:
    return (
        RecurringOccurrence.objects.filter(organization=organization)
        .select_related("recurring_task", "ticket")
        .order_by("-due_on", "-pk")
    )


def risk_list(*, organization: Organization) -> QuerySet[Risk]:
    return (
        Risk.objects.filter(organization=organization)
        .select_related("client", "owner__user")
        .order_by("client__name", "-created_at", "-pk")
    )
