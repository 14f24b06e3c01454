"""How msops shows numbers: durations as h:mm, money with its currency.

{% load msops_format %}
{{ 90|minutes_hm }}            → 1:30
{{ amount|money:currency }}    → EUR 1,234.50
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

EMPTY = "—"


@register.filter
def minutes_hm(value) -> str:
    """Integer minutes as h:mm (``75`` → ``1:15``); nothing → “—”."""
    if value is None or value == "":
        return EMPTY
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return EMPTY
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


@register.filter
def money(value, currency: str = "") -> str:
    """A decimal amount with its currency and two decimals: ``EUR 1,234.50``."""
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return EMPTY
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text
