import secrets

from django import forms

from annotation.labelling.sets import radiologists
from annotation.models import Center
from studies.design.cases import (
    CaseChoiceError,
    draw,
    eligible_exams,
    exams_from_accessions,
    exams_from_ids,
)
from studies.models import MAX_WASHOUT_DAYS, Arm, Design, ReaderStudy, ReaderStudyReader, Specialty

CLINICAL_CHOICES = [("age", "Age"), ("ca125", "CA125"), ("report", "Ultrasound report")]
LIST_HELP = "One per line (IDs may also be separated by commas)."


class ReaderStudyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    design = forms.ChoiceField(
        choices=Design.choices, initial=Design.SEQUENTIAL, widget=forms.RadioSelect
    )
    washout_days = forms.IntegerField(min_value=0, max_value=MAX_WASHOUT_DAYS, initial=28)
    seed = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="Seeds the draw and each reader's case order."
    )
    readers = forms.ModelMultipleChoiceField(
        queryset=radiologists(), widget=forms.CheckboxSelectMultiple
    )
    exam_ids = forms.CharField(
        label="Cases: exam IDs",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=f"{LIST_HELP} With IDs or accession numbers the filters below are not used.",
    )
    accessions = forms.CharField(
        label="Cases: accession numbers",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=LIST_HELP,
    )
    centers = forms.ModelMultipleChoiceField(
        queryset=Center.objects.all(),
        required=False,
        to_field_name="code",
        help_text="Draw from these centres (none: all); exams with pathology and images only.",
    )
    external_only = forms.BooleanField(required=False, label="External (validation) centres only")
    case_count = forms.IntegerField(
        min_value=2, required=False, help_text="Draw this many at random (empty: all)."
    )
    practice_exam_ids = forms.CharField(
        label="Practice cases: exam IDs",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Read first and left out of the analysis. " + LIST_HELP,
    )
    practice_count = forms.IntegerField(
        min_value=0,
        max_value=50,
        initial=2,
        required=False,
        help_text="Without IDs: draw this many practice cases from the other eligible exams.",
    )
    ask_orads = forms.BooleanField(required=False, label="Ask for the O-RADS US category")
    ask_comment = forms.BooleanField(required=False, label="Offer a free-text comment")
    clinical_without_ai = forms.MultipleChoiceField(
        choices=CLINICAL_CHOICES,
        initial=["age", "ca125"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Clinical data shown without AI",
    )
    clinical_with_ai = forms.MultipleChoiceField(
        choices=CLINICAL_CHOICES,
        initial=["age", "ca125"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Clinical data shown with AI",
    )
    allow_going_back = forms.BooleanField(
        required=False, label="Readers may go back and change a submitted answer"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["readers"].queryset = radiologists()  # evaluated per request
        if not self.is_bound and "seed" not in self.initial:
            self.initial["seed"] = secrets.randbelow(2**31 - 1)

    @classmethod
    def for_study(cls, study: ReaderStudy, *args, **kwargs) -> "ReaderStudyForm":
        cases = list(study.cases.order_by("pk").values_list("exam_id", "practice"))
        initial = {
            "name": study.name,
            "description": study.description,
            "design": study.design,
            "washout_days": study.washout_days,
            "seed": study.seed,
            "readers": [p.reader for p in study.readers.select_related("reader")],
            "exam_ids": "\n".join(str(exam) for exam, practice in cases if not practice),
            "practice_exam_ids": "\n".join(str(exam) for exam, practice in cases if practice),
            "practice_count": 0,
            "ask_orads": study.ask_orads,
            "ask_comment": study.ask_comment,
            "clinical_without_ai": list(study.clinical_data(Arm.WITHOUT_AI)),
            "clinical_with_ai": list(study.clinical_data(Arm.WITH_AI)),
            "allow_going_back": study.allow_going_back,
        }
        return cls(*args, initial=initial, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        chosen = []
        for field, find in (("exam_ids", exams_from_ids), ("accessions", exams_from_accessions)):
            try:
                chosen += find(data[field])
            except CaseChoiceError as error:
                self.add_error(field, str(error))
        if self.errors:
            return data
        chosen = list({exam.pk: exam for exam in chosen}.values())
        pool = eligible_exams(centers=data["centers"], external_only=data["external_only"])
        if not chosen:
            chosen = draw(pool, count=data["case_count"], seed=data["seed"])
            if not chosen:
                self.add_error("centers", "no exam with pathology and images matches")
                return data
        try:
            practice = exams_from_ids(data["practice_exam_ids"])
        except CaseChoiceError as error:
            self.add_error("practice_exam_ids", str(error))
            return data
        if not practice and data["practice_count"]:
            taken = {exam.pk for exam in chosen}
            others = [exam for exam in pool if exam.pk not in taken]
            practice = draw(
                others, count=data["practice_count"], seed=data["seed"], salt="practice"
            )
        data["cases"], data["practice_cases"] = chosen, practice
        return data

    def design_kwargs(self) -> dict:
        """The form's answers as the design services' keyword arguments."""
        data = self.cleaned_data
        names = (
            "name", "description", "design", "washout_days", "seed", "ask_orads", "ask_comment",
            "clinical_without_ai", "clinical_with_ai", "allow_going_back", "cases",
            "practice_cases",
        )  # fmt: skip
        return {name: data[name] for name in names} | {"readers": list(data["readers"])}


class ReaderExperienceForm(forms.Form):
    experience_years = forms.IntegerField(min_value=0, max_value=70, required=False, label="Years")
    specialty = forms.ChoiceField(choices=[("", "—"), *Specialty.choices], required=False)

    @classmethod
    def for_reader(cls, participant: ReaderStudyReader) -> "ReaderExperienceForm":
        return cls(
            prefix=f"r{participant.reader_id}",
            initial={
                "experience_years": participant.experience_years,
                "specialty": participant.specialty,
            },
        )
