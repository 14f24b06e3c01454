"""An Idempotency-Key on POST /api/v1/time-entries/ logs once: the same key
with the same body replays the entry, with a different body it is a 422 and
nothing is saved; keys belong to the membership the time is logged for."""

import datetime
import uuid

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from tests.tickets.helpers import count, fresh
from tickets.models import IdempotencyKey, TimeEntry
from tickets.services.time_entries import time_entry_fingerprint

ENTRIES = "/api/v1/time-entries/"


def today(org) -> str:
    return timezone.localdate(timezone=org.tzinfo).isoformat()


@pytest.fixture
def post(api):
    """``post(member, body, key)`` → the API's answer to logging ``body`` with ``key``."""

    def _post(member, body: dict, key: str):
        return api(member).post(ENTRIES, body, headers={"Idempotency-Key": key})

    return _post


@pytest.fixture
def body(org, open_ticket):
    # Opened early in 2025: a retry may name another day of its work.
    ticket = open_ticket(opened_at=datetime.datetime(2025, 1, 1, 9, tzinfo=datetime.UTC))
    return {"ticket": ticket.pk, "work_date": today(org), "minutes": 25, "notes": "Reset VPN"}


def test_the_same_key_and_body_log_one_entry_and_replay_it(post, developer, body):
    key = str(uuid.uuid4())
    first = post(developer, body, key)
    again = post(developer, body, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert count(TimeEntry) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"minutes": 26},
        {"notes": "Something else"},
        {"work_date": "2025-01-02"},
    ],
    ids=["minutes", "notes", "work_date"],
)
def test_the_same_key_with_a_different_body_is_a_422_and_saves_nothing(
    post, developer, body, change
):
    key = str(uuid.uuid4())
    first = post(developer, body, key)
    assert first.status_code == 201
    response = post(developer, {**body, **change}, key)
    assert response.status_code == 422
    assert "Idempotent-Replayed" not in response
    assert count(TimeEntry) == 1
    with scopes_disabled():
        entry = TimeEntry.objects.get(pk=first.json()["id"])
    stored = {"minutes": entry.minutes, "notes": entry.notes, "work_date": str(entry.work_date)}
    assert stored == {field: body[field] for field in stored}


def test_the_same_key_on_another_ticket_is_a_422(post, developer, body, open_ticket):
    key = str(uuid.uuid4())
    assert post(developer, body, key).status_code == 201
    other = open_ticket(title="Another")
    response = post(developer, {**body, "ticket": other.pk}, key)
    assert response.status_code == 422
    assert count(TimeEntry) == 1 and fresh(other).logged_minutes == 0


def test_the_422_says_why_with_the_idempotency_key_reused_code(post, developer, body):
    key = str(uuid.uuid4())
    post(developer, body, key)
    response = post(developer, {**body, "minutes": 99}, key)
    assert response.status_code == 422
    answer = response.json()
    assert "send a new key" in str(answer)
    assert answer.get("code", "idempotency_key_reused") == "idempotency_key_reused"


def test_the_same_key_used_by_another_member_logs_their_own_entry(
    post, developer, account_manager, body
):
    key = "shared-timer-key"
    mine = post(developer, body, key)
    theirs = post(account_manager, body, key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["person"] == account_manager.pk
    assert count(TimeEntry) == 2


def test_a_replay_after_the_entry_was_corrected_still_answers_the_entry(api, post, developer, body):
    key = str(uuid.uuid4())
    first = post(developer, body, key)
    entry_id = first.json()["id"]
    corrected = api(developer).patch(f"{ENTRIES}{entry_id}/", {"minutes": 40, "notes": "Fixed"})
    assert corrected.status_code == 200, corrected.json()
    again = post(developer, body, key)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == entry_id and again.json()["minutes"] == 40
    assert count(TimeEntry) == 1


def test_a_key_logged_before_fingerprints_were_kept_compares_the_entry_as_stored(
    post, developer, body
):
    key = str(uuid.uuid4())
    first = post(developer, body, key)
    with scopes_disabled():
        IdempotencyKey.objects.filter(time_entry=first.json()["id"]).update(fingerprint="")
    assert post(developer, body, key).status_code == 200
    assert post(developer, {**body, "minutes": 30}, key).status_code == 422
    assert count(TimeEntry) == 1


def test_a_key_outlives_its_entry_and_a_retry_after_removal_logs_nothing(
    api, post, developer, body
):
    key = str(uuid.uuid4())
    first = post(developer, body, key)
    assert api(developer).delete(f"{ENTRIES}{first.json()['id']}/").status_code == 204
    again = post(developer, body, key)
    assert again.status_code == 422
    assert again.json()["code"] == "idempotency_key_reused"
    assert "since been removed" in again.json()["detail"]
    assert count(TimeEntry) == 0
    with scopes_disabled():
        assert IdempotencyKey.objects.filter(key=key, time_entry=None).count() == 1


def test_the_fingerprint_is_what_was_asked_and_ignores_surrounding_whitespace_in_notes():
    asked = {"ticket_id": 1, "person_id": 2, "work_date": datetime.date(2026, 1, 5), "minutes": 30}
    same = time_entry_fingerprint(**asked, notes="VPN")
    assert time_entry_fingerprint(**asked, notes="  VPN ") == same
    assert time_entry_fingerprint(**{**asked, "minutes": 31}, notes="VPN") != same
    assert time_entry_fingerprint(**{**asked, "person_id": 3}, notes="VPN") != same
    assert len(same) == 64


def test_the_header_is_documented_with_its_scope_retention_and_422(api, developer):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][ENTRIES]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    for words in ("membership", "24 hours", "422", "idempotency_key_reused"):
        assert words in header["description"], words
    assert "422" in operation["responses"]
