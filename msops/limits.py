"""How long free text may be, in one place, and the one message that says
so. Services check the lengths (:func:`check_length`); models, forms and
serializers take the same numbers, so the API's schema shows ``maxLength``.

Text is never cut: a longer text is refused with its length, so nobody
loses what they wrote without a word. For the same reason the form fields
here state the limit but leave out the HTML ``maxlength`` attribute, which
makes a browser cut pasted text silently.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible
from rest_framework import serializers

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
TIME_ENTRY_NOTES_MAX = 5_000
# Decision reasons, flag notes and other free-text notes.
NOTE_MAX = 2_000
# What was done, for the next person: as long as a description.
RESOLUTION_NOTE_MAX = DESCRIPTION_MAX
# Why time is logged before its ticket was opened or outside any contract.
DATE_REASON_MAX = 500


def too_long(text: str | None, *, limit: int, what: str) -> str | None:
    """The message for ``text`` longer than ``limit`` (None when it fits),
    e.g. “Titles are at most 200 characters (this one has 1,000).”"""
    length = len(text or "")
    if length <= limit:
        return None
    return f"{what} are at most {limit:,} characters (this one has {length:,})."


def check_length(errors: dict, field: str, text: str | None, *, limit: int, what: str) -> None:
    """Put the message of :func:`too_long` in ``errors[field]``, unless the
    field has a problem already."""
    message = too_long(text, limit=limit, what=what)
    if message is None or field in errors:
        return
    errors[field] = message


@deconstructible
class LengthLimit(MaxLengthValidator):
    """Django's length validator (so the API's schema shows ``maxLength``)
    with the message of :func:`too_long`."""

    def __init__(self, limit: int, what: str):
        super().__init__(limit)
        self.what = what

    def __call__(self, value) -> None:
        message = too_long(value, limit=self.limit_value, what=self.what)
        if message is not None:
            raise ValidationError(message, code="max_length")

    def __eq__(self, other) -> bool:
        if not isinstance(other, LengthLimit):
            return NotImplemented
        return (self.limit_value, self.what) == (other.limit_value, other.what)


def limit_help(limit: int) -> str:
    return f"At most {limit:,} characters."


class LimitedTextField(forms.CharField):
    """A form field for text with a length limit. The limit is stated (help
    text, ``data-max-length``) and checked with the services' message; no
    ``maxlength`` attribute, so a browser never cuts pasted text."""

    def __init__(self, *, limit: int, what: str, **kwargs):
        kwargs["help_text"] = " ".join(filter(None, [kwargs.get("help_text"), limit_help(limit)]))
        super().__init__(**kwargs)
        self.validators.append(LengthLimit(limit, what))
        self.widget.attrs["data-max-length"] = str(limit)


class LimitedCharField(serializers.CharField):
    """An API field for text with a length limit: ``maxLength`` in the
    schema, and the services' message when it is longer."""

    def __init__(self, *, limit: int, what: str, **kwargs):
        super().__init__(max_length=limit, **kwargs)
        self.validators = [
            LengthLimit(limit, what) if isinstance(v, MaxLengthValidator) else v
            for v in self.validators
        ]
