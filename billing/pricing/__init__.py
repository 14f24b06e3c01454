"""The one pricing module: every page, the API, the exports and the
benchmark price through it (see :mod:`billing.pricing.engine` for the rules
per contract kind and :mod:`billing.pricing.money` for the rounding points)."""

import datetime

from clients.models import Client, Contract

from .blockers import Action, Blocker, BlockerKind, month_blockers
from .engine import ClientCharges, Line, Usage, price_client_month, price_month
from .money import billed_minutes, cents, month_bounds, time_amount

__all__ = [
    "Action",
    "Blocker",
    "BlockerKind",
    "ClientCharges",
    "Line",
    "Usage",
    "billed_minutes",
    "cents",
    "client_usage",
    "contract_usage",
    "month_blockers",
    "month_bounds",
    "price_client_month",
    "price_month",
    "time_amount",
]


def client_usage(*, client: Client, on: datetime.date) -> dict[int, Usage]:
    """Each of the client's contracts' usage in the month holding ``on``."""
    return price_client_month(client=client, month=on).usage


def contract_usage(*, contract: Contract, on: datetime.date) -> Usage | None:
    """The contract's usage in the month holding ``on`` (None: not running)."""
    return client_usage(client=contract.client, on=on).get(contract.pk)
