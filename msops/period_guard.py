"""The question "is this client's month locked?", asked by layers below
billing. Billing owns billing periods and registers the answer when it loads
(billing/apps.py); clients' services ask it before writing what priced a
month (unit counts, block top-ups, terms and scope rules dated in it), so a
locked month refuses them with a clear error on every database — PostgreSQL's
triggers are the last wall behind it."""

import datetime
from collections.abc import Callable, Iterable

_guards: list[Callable[..., None]] = []


def register(guard: Callable[..., None]) -> None:
    """``guard(organization_id=, client=, days=, field=)`` raises a
    ValidationError when any of ``days`` is in a closed billing period."""
    if guard not in _guards:
        _guards.append(guard)


def ensure_open(
    *, organization_id: int, client: int, days: Iterable[datetime.date | None], field: str
) -> None:
    days = [d for d in days if d is not None]
    for guard in _guards:
        guard(organization_id=organization_id, client=client, days=days, field=field)
