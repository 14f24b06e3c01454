from django import forms
from django.utils import timezone


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. “Timer app”.")
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the end of this day.",
    )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value and value <= timezone.localdate():
            raise forms.ValidationError("Choose a date after today.")
        return value
