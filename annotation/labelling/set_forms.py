from django import forms

from annotation.labelling.sets import DEFAULT_SIZE, radiologists
from annotation.models import Center


class AnnotationSetForm(forms.Form):
    name = forms.CharField(max_length=200)
    size = forms.IntegerField(min_value=1, max_value=1_000_000, initial=DEFAULT_SIZE)
    seed = forms.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        initial=2026,
        help_text="The same seed on the same pool draws the same images.",
    )
    centers = forms.ModelMultipleChoiceField(
        queryset=Center.objects.all(),
        required=False,
        to_field_name="code",
        help_text="Draw from these centres only (none: all).",
    )
    stratify_by_center = forms.BooleanField(required=False)
    max_per_patient = forms.IntegerField(min_value=1, required=False)
    max_per_exam = forms.IntegerField(min_value=1, required=False)
    readers = forms.ModelMultipleChoiceField(queryset=radiologists())
    readers_per_image = forms.IntegerField(min_value=1, max_value=50, initial=1)
    calibration_size = forms.IntegerField(
        min_value=0, initial=0, help_text="Images read by every radiologist of the set."
    )
    adjudicator = forms.ModelChoiceField(queryset=radiologists(), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Querysets evaluated per request: new radiologists appear without a restart.
        self.fields["readers"].queryset = radiologists()
        self.fields["adjudicator"].queryset = radiologists()


class AdjudicationForm(forms.Form):
    YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]
    adnexal = forms.ChoiceField(choices=YES_NO, required=False)
    lesion = forms.ChoiceField(choices=YES_NO, required=False)
    ascites = forms.ChoiceField(choices=YES_NO, required=False)
    blood_flow = forms.ChoiceField(choices=YES_NO, required=False)
    dimension = forms.ChoiceField(choices=[("", "—"), ("2d", "2D"), ("3d", "3D")], required=False)
    cannot_determine = forms.BooleanField(required=False)

    def answers(self) -> dict:
        data = self.cleaned_data
        value = {"true": True, "false": False, "": None}
        return {
            **{name: value[data[name]] for name in ("adnexal", "lesion", "ascites", "blood_flow")},
            "dimension": data["dimension"],
            "cannot_determine": data["cannot_determine"],
        }
