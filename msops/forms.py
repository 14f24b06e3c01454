"""What every app's forms share: showing a service's errors on the form and
choosing a member by name."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from msops.display import member_name
from msops.tenancy.models import Membership


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: beside the field when the
    form has it, above the form otherwise."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, messages)


class MemberChoiceField(forms.ModelChoiceField):
    """A member of the organization, shown by name."""

    def label_from_instance(self, obj: Membership) -> str:
        return member_name(obj)
