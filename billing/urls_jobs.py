"""Billing pages: jobs (included by billing/urls.py under /o/<org>/billing/)."""

from django.urls import path

from .views import jobs

urlpatterns: list = [
    path("flags/", jobs.flag_list, name="flag_list"),
    path("flags/<int:pk>/resolve/", jobs.flag_resolve_view, name="flag_resolve"),
    path("review/", jobs.review_current, name="review_current"),
    path("review/rebuild/", jobs.review_rebuild, name="review_rebuild"),
    path("review/<int:pk>/", jobs.review_detail, name="review_detail"),
    path(
        "review/items/<int:pk>/resolve/", jobs.review_item_resolve_view, name="review_item_resolve"
    ),
    path(
        "review/items/<int:pk>/reassign/",
        jobs.review_item_reassign_view,
        name="review_item_reassign",
    ),
]
