"""Registers the jobs API viewsets (called by billing/api/routes.py)."""

from . import jobs


def register(router) -> None:
    router.register("flags", jobs.FlagViewSet, basename="flag")
    router.register("review-queues", jobs.ReviewQueueViewSet, basename="review-queue")
    router.register("review-items", jobs.ReviewItemViewSet, basename="review-item")
