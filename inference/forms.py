from django import forms

from annotation.models import Center
from inference.models import (
    Agreement,
    Architecture,
    Borderline,
    ClinicianReview,
    ModelTask,
    ModelVersion,
    ThresholdRule,
)


class TrainingForm(forms.Form):
    task = forms.ChoiceField(choices=ModelTask.choices)
    architecture = forms.ChoiceField(choices=Architecture.choices)
    input_size = forms.IntegerField(min_value=128, max_value=512, initial=128)
    epochs = forms.IntegerField(min_value=1, max_value=200, initial=8)
    batch_size = forms.IntegerField(min_value=2, max_value=512, initial=32)
    learning_rate = forms.FloatField(min_value=1e-6, max_value=1.0, initial=0.001)
    seed = forms.IntegerField(min_value=0, initial=1)
    borderline = forms.ChoiceField(choices=Borderline.choices, initial=Borderline.MALIGNANT)


def _malignancy(prefix: str):
    return ModelVersion.objects.filter(
        task=ModelTask.MALIGNANCY, retired=False, architecture__startswith=prefix
    )


class EnsembleForm(forms.Form):
    resnet = forms.ModelChoiceField(queryset=_malignancy("resnet"))
    darknet = forms.ModelChoiceField(queryset=_malignancy("darknet"))
    rule = forms.ChoiceField(choices=ThresholdRule.choices, initial=ThresholdRule.YOUDEN)
    target_sensitivity = forms.FloatField(min_value=0.01, max_value=1.0, required=False)
    in_service = forms.BooleanField(required=False, initial=True, label="Put in service")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Querysets are evaluated per form, so new versions appear without a restart.
        self.fields["resnet"].queryset = _malignancy("resnet")
        self.fields["darknet"].queryset = _malignancy("darknet")


class CheckpointForm(forms.Form):
    task = forms.ChoiceField(choices=ModelTask.choices)
    architecture = forms.ChoiceField(choices=Architecture.choices)
    input_size = forms.IntegerField(min_value=128, max_value=512, initial=224)
    file = forms.FileField(help_text="A PyTorch state dict (.pt)")


class ScoreForm(forms.Form):
    what = forms.ChoiceField(
        choices=[
            ("unscored", "Every exam without a result yet"),
            ("external", "The external validation centres"),
            ("all", "Every exam"),
        ]
    )


class WorklistFilterForm(forms.Form):
    center = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    patient = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = Center.objects.values_list("code", flat=True)
        self.fields["center"].choices = [("", "All"), *((code, code) for code in codes)]


class ReviewForm(forms.Form):
    agreement = forms.ChoiceField(choices=Agreement.choices, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    final_diagnosis = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Not known yet"),
            *ClinicianReview._meta.get_field("final_diagnosis").choices,
        ],
        help_text="Once pathology or follow-up settles it.",
    )


class PatientSearchForm(forms.Form):
    """The worklist's search by hospital patient ID (the same field as the Find patient page)."""

    hospital_id = forms.CharField(
        max_length=64,
        label="Hospital patient ID",
        help_text="Hashed with the pseudonym key to find the patient; never stored.",
    )
