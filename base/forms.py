from django import forms

from base.models import AccessAction


class AccessLogFilterForm(forms.Form):
    username = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(required=False, choices=[("", "Any"), *AccessAction.choices])
    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient (row id)")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            raise forms.ValidationError("The first day comes after the last.")
        return cleaned
