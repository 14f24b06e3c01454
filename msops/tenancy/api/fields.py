"""One home for the API's "not set" rule: a text column that is blank when a
value is not decided or not known (``""`` in the database) is ``null`` on the
wire, never ``""``, so an enum or an email answers inside its schema.

Writes accept what they always did (``""`` where blank was allowed) and also
``null``, which is stored as ``""``."""

from rest_framework import serializers


class BlankAsNullMixin:
    def __init__(self, **kwargs):
        kwargs["allow_null"] = True
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None and not self.read_only:
            return True, ""
        return super().validate_empty_values(data)

    def to_representation(self, value):
        if value is None or value == "":
            return None
        return super().to_representation(value)


class BlankAsNullChoiceField(BlankAsNullMixin, serializers.ChoiceField):
    """An enum that may be undecided: ``null`` (schema: a nullable enum)."""


class BlankAsNullEmailField(BlankAsNullMixin, serializers.EmailField):
    """An email that may be unknown: ``null``, never ``""`` under ``format: email``."""


class BlankAsNullCharField(BlankAsNullMixin, serializers.CharField):
    """Free text written as ``""`` or ``null`` alike (both mean "none")."""


def text_fields_take_only_text() -> None:
    """JSON numbers are not text. DRF's CharField (and every field built on it:
    email, slug, URL, regex) turns ``0`` into ``"0"``; msops's schema says
    ``type: string``, so anything but a string is "Not a valid string." (400
    on the field), on every serializer, declared or generated. Called once,
    from TenancyConfig.ready()."""
    to_internal_value = serializers.CharField.to_internal_value
    if getattr(to_internal_value, "takes_only_text", False):
        return

    def only_text(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return to_internal_value(self, data)

    only_text.takes_only_text = True
    serializers.CharField.to_internal_value = only_text
