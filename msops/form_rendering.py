"""Form widgets written in Python, byte for byte as Django's templates write them.

Django renders every widget through a template: a select is one template, an
include of the attributes template, and one more include per option, each
with its own context. On the ticket page (five selects, a dozen inputs) that
was a third of the page's time. :class:`WidgetRenderer` writes the plain
widgets (``<input>`` of every type, ``<select>`` with its options and
groups, ``<textarea>``) and the lists of a field's errors with the same escaping and localization as the
templates, and hands everything else (and any option template it does not
know) to the templates. ``tests/test_form_rendering.py`` renders every form
of the project both ways and compares the bytes.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime

WIDGETS = "django/forms/widgets/"
INPUT = WIDGETS + "input.html"
INPUTS = frozenset(
    WIDGETS + f"{kind}.html"
    for kind in (
        "input",
        "text",
        "number",
        "email",
        "url",
        "password",
        "hidden",
        "date",
        "datetime",
        "time",
        "search",
        "tel",
        "color",
        "checkbox",
    )
)
SELECT = WIDGETS + "select.html"
OPTION = WIDGETS + "select_option.html"
TEXTAREA = WIDGETS + "textarea.html"
# A field's errors: every bound field of a form on the page writes its list,
# empty or not.
ERROR_LISTS = frozenset(
    {"django/forms/errors/list/default.html", "django/forms/errors/list/ul.html"}
)


def _text(value) -> str:
    """``{{ value }}``: localized, then escaped unless already safe."""
    if not isinstance(value, str):
        value = localize(template_localtime(value))
    return conditional_escape(value)


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``."""
    if isinstance(value, tuple):
        value = str(value)
    text = "%s" % (value,)  # noqa: UP031 -- the filter's own formatting
    # A safe value stays safe, as the filter keeps it (is_safe=True).
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {_text(name)}")
        else:
            out.append(f' {_text(name)}="{_formatted(value)}"')
    return "".join(out)


def _input(widget: dict) -> str:
    value = widget["value"]
    shown = f' value="{_formatted(value)}"' if value is not None else ""
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


def _error_list(context: dict) -> str:
    """django/forms/errors/list/ul.html."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    named = f' id="{_text(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_text(error)}</li>" for error in errors)
    return f'<ul class="{_text(context["error_class"])}"{named}>{items}</ul>'


class WidgetRenderer(DjangoTemplates):
    """Django's default form renderer, with the plain widgets in Python."""

    def render(self, template_name, context, request=None):
        if template_name in INPUTS:
            return _input(context["widget"])
        if template_name == SELECT:
            return self._select(context, request)
        if template_name == TEXTAREA:
            return _textarea(context["widget"])
        if template_name in ERROR_LISTS:
            return _error_list(context)
        return super().render(template_name, context, request)

    def _select(self, context: dict, request) -> str:
        widget = context["widget"]
        groups = widget["optgroups"]
        if any(o["template_name"] != OPTION for _, choices, _ in groups for o in choices):
            return super().render(SELECT, context, request)
        out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _ in groups:
            if group_name:
                out.append(f'\n  <optgroup label="{_text(group_name)}">')
            # An included option template keeps its file's last newline.
            out.extend(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
                for option in group_choices
            )
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")
        return "".join(out)
