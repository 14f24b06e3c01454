"""Isolation-test route classification for billing jobs pages and API."""

from tests.isolation_types import Route, collection, obj

ROUTES: dict[str, Route] = {
    # Pages
    "billing:flag_list": collection(),
    "billing:flag_resolve": obj(pk="flag"),
    "billing:review_current": collection(),
    "billing:review_rebuild": collection(),
    "billing:review_detail": obj(pk="review_queue"),
    "billing:review_item_resolve": obj(pk="review_item"),
    "billing:review_item_reassign": obj(pk="review_item"),
    # API
    "api:flag-list": collection(),
    "api:flag-detail": obj(pk="flag"),
    "api:flag-resolve": obj(pk="flag"),
    "api:review-queue-list": collection(),
    "api:review-queue-detail": obj(pk="review_queue"),
    "api:review-queue-rebuild": collection(),
    "api:review-item-list": collection(),
    "api:review-item-detail": obj(pk="review_item"),
    "api:review-item-resolve": obj(pk="review_item"),
    "api:review-item-reassign": obj(pk="review_item"),
}
