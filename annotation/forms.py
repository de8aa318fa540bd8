from django import forms

from annotation.synthetic import DEFAULT_PATIENTS


class PatientFindForm(forms.Form):
    hospital_id = forms.CharField(
        max_length=64,
        label="Hospital patient ID",
        help_text="Hashed with the pseudonym key to find the patient; never stored.",
    )


class DemoDataForm(forms.Form):
    patients = forms.IntegerField(min_value=1, max_value=20000, initial=DEFAULT_PATIENTS)
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=2026)
