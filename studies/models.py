"""Reader studies: imported from CSV, and designed and read here.

`ImportedReaderStudy` is one imported file; `ImportedReading` one row of it: a reader's
confidence rating (and optional yes/no decision and reading time) for one case in one
modality, the long format the MRMC packages (iMRMC, RJafroc, MRMCaov) use.

A designed study (`ReaderStudy`) has its cases (`ReaderStudyCase`: exams, some of them
practice), its readers (`ReaderStudyReader`, with their experience for subgroups), and once
opened one `ReadingSession` per reader, arm and period, each holding the reader's
`CaseReading`s in their stored random order (practice first).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from base.models import TimeStampedModel


class ImportedReaderStudy(models.Model):
    """A reader study whose readings were imported from a CSV, analysed as it stands."""

    name = models.CharField(max_length=200, unique=True)
    # The modality the others are compared against (the difference is other minus this).
    reference_modality = models.CharField(max_length=100)
    source_filename = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "imported reader study"
        verbose_name_plural = "imported reader studies"

    def __str__(self) -> str:
        return self.name


class ImportedReading(models.Model):
    """One reading: reader, case and modality as written in the file, except that a case that
    is an accession number is its exam's pseudonymous key (studies/reading/imported.py)."""

    study = models.ForeignKey(
        ImportedReaderStudy, on_delete=models.CASCADE, related_name="readings"
    )
    reader = models.CharField(max_length=100)
    case = models.CharField(
        max_length=100,
        help_text="As written, or for an accession number the exam's accession_key (HMAC).",
    )
    case_encrypted = models.TextField(
        blank=True, help_text="The accession number behind a pseudonymised case, encrypted."
    )
    modality = models.CharField(max_length=100)
    truth = models.PositiveSmallIntegerField(help_text="1 = diseased (malignant), 0 = not")
    rating = models.FloatField(help_text="confidence of disease; higher = more confident")
    decision = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 = positive")
    seconds = models.FloatField(null=True, blank=True, help_text="reading time in seconds")

    class Meta:
        ordering = ["study", "modality", "reader", "case"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "reader", "case", "modality"], name="imported_reading_unique"
            ),
            models.CheckConstraint(condition=Q(truth__in=(0, 1)), name="imported_reading_truth"),
            models.CheckConstraint(
                condition=Q(decision__isnull=True) | Q(decision__in=(0, 1)),
                name="imported_reading_decision",
            ),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="imported_reading_seconds",
            ),
        ]
        indexes = [
            models.Index(fields=["study", "modality", "reader"], name="imported_reading_mr"),
            models.Index(fields=["study", "case"], name="imported_reading_case"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: reader {self.reader}, case {self.case}, modality {self.modality}"


class Arm(models.TextChoices):
    WITHOUT_AI = "without_ai", "without AI"
    WITH_AI = "with_ai", "with AI"


class Design(models.TextChoices):
    SEQUENTIAL = "sequential", "Sequential: all cases without AI, then with AI after the washout"
    CROSSOVER = "crossover", "Crossover: half the cases with AI first, swapped after the washout"


CLINICAL_DATA = ("age", "ca125", "report")  # what readers may be shown, per arm
MAX_WASHOUT_DAYS = 365


class ReaderStudy(TimeStampedModel):
    """A reader study designed here: its cases, readers, arms, design and questions.

    Locked once the first case is shown to a reader (`reading_started_at`): from then on
    cases, readers and design stay as they were read.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open for reading"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    design = models.CharField(max_length=16, choices=Design.choices, default=Design.SEQUENTIAL)
    washout_days = models.PositiveSmallIntegerField(
        default=28, help_text="Days between a reader's first and second period."
    )
    ask_orads = models.BooleanField(default=False, help_text="Ask for an O-RADS US category.")
    ask_comment = models.BooleanField(default=False, help_text="Offer a free-text comment.")
    age_without_ai = models.BooleanField(default=True)
    ca125_without_ai = models.BooleanField(default=True)
    report_without_ai = models.BooleanField(default=False)
    age_with_ai = models.BooleanField(default=True)
    ca125_with_ai = models.BooleanField(default=True)
    report_with_ai = models.BooleanField(default=False)
    allow_going_back = models.BooleanField(
        default=False, help_text="Readers may go back and change a submitted answer."
    )
    seed = models.PositiveIntegerField(help_text="Seeds each reader's random case order.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.DRAFT)
    opened_at = models.DateTimeField(null=True, blank=True)
    reading_started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "reader studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(design__in=Design.values), name="reader_study_design_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=("draft", "open", "closed")), name="reader_study_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(washout_days__lte=MAX_WASHOUT_DAYS), name="reader_study_washout_range"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(opened_at__isnull=False),
                name="reader_study_opened_when_not_draft",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clinical_data(self, arm: str) -> tuple[str, ...]:
        """What readers see of the clinical data in this arm, among CLINICAL_DATA."""
        return tuple(item for item in CLINICAL_DATA if getattr(self, f"{item}_{arm}"))


class ReaderStudyCase(models.Model):
    """An exam read in the study; practice cases are read first and left out of the analysis."""

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="cases")
    exam = models.ForeignKey("annotation.Exam", on_delete=models.PROTECT, related_name="+")
    practice = models.BooleanField(default=False)

    class Meta:
        ordering = ["study", "-practice", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "exam"], name="reader_study_case_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: exam {self.exam_id}{' (practice)' if self.practice else ''}"


class Specialty(models.TextChoices):
    GENERAL_RADIOLOGY = "general_radiology", "General radiology"
    GYNAECOLOGICAL_ULTRASOUND = "gynaecological_ultrasound", "Gynaecological ultrasound"
    OTHER = "other", "Other"


class ReaderStudyReader(models.Model):
    """A radiologist reading the study, with the experience used for subgroup results."""

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="readers")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reader_studies"
    )
    experience_years = models.PositiveSmallIntegerField(null=True, blank=True)
    specialty = models.CharField(max_length=32, choices=Specialty.choices, blank=True)

    class Meta:
        ordering = ["study", "reader__username"]
        constraints = [
            models.UniqueConstraint(fields=["study", "reader"], name="reader_study_reader_unique"),
            models.CheckConstraint(
                condition=Q(experience_years__isnull=True) | Q(experience_years__lte=70),
                name="reader_study_reader_years_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.reader}"


class ReadingSession(models.Model):
    """One reader's reads of one arm in one period, in a stored random order.

    Sessions of the first period are available when the study opens; those of the second
    get `available_from` (end of the reader's first period plus the washout) when the
    reader finishes the first.
    """

    study = models.ForeignKey(ReaderStudy, on_delete=models.CASCADE, related_name="sessions")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reading_sessions"
    )
    arm = models.CharField(max_length=16, choices=Arm.choices)
    period = models.PositiveSmallIntegerField()
    available_from = models.DateTimeField(
        null=True, blank=True, help_text="Empty in the second period until the first is done."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "reader", "period", "arm"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "reader", "arm", "period"], name="reading_session_unique"
            ),
            models.CheckConstraint(condition=Q(arm__in=Arm.values), name="reading_session_arm"),
            models.CheckConstraint(condition=Q(period__in=(1, 2)), name="reading_session_period"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.reader}, {self.get_arm_display()}, period {self.period}"


class ORADS(models.IntegerChoices):
    INCOMPLETE = 0, "O-RADS 0: incomplete evaluation"
    NORMAL = 1, "O-RADS 1: normal ovary"
    ALMOST_CERTAINLY_BENIGN = 2, "O-RADS 2: almost certainly benign"
    LOW_RISK = 3, "O-RADS 3: low risk"
    INTERMEDIATE_RISK = 4, "O-RADS 4: intermediate risk"
    HIGH_RISK = 5, "O-RADS 5: high risk"


class CaseReading(models.Model):
    """A reader's answer for one case in one session; times are the server's.

    While `answered_at` is empty the answers are a draft (saved as they are made); the
    analysis uses answered readings of non-practice cases only.
    """

    session = models.ForeignKey(ReadingSession, on_delete=models.CASCADE, related_name="readings")
    exam = models.ForeignKey("annotation.Exam", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    practice = models.BooleanField(default=False)
    shown_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    revised_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0)
    malignant = models.BooleanField(null=True, blank=True)
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Confidence of malignancy, 0-100 (used for ROC)."
    )
    orads = models.PositiveSmallIntegerField(null=True, blank=True, choices=ORADS.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "exam"], name="case_reading_exam_unique"),
            models.UniqueConstraint(
                fields=["session", "position"], name="case_reading_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=100),
                name="case_reading_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(orads__isnull=True) | Q(orads__lte=5), name="case_reading_orads_range"
            ),
            models.CheckConstraint(
                condition=Q(active_seconds__gte=0), name="case_reading_active_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True)
                | Q(
                    shown_at__isnull=False,
                    malignant__isnull=False,
                    confidence__isnull=False,
                    answered_at__gte=F("shown_at"),
                ),
                name="case_reading_answered_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["session", "answered_at"], name="case_reading_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.session}: case {self.position}"


class CaseReadingRevision(models.Model):
    """Audit: a submitted answer changed by going back, from what to what and when."""

    reading = models.ForeignKey(CaseReading, on_delete=models.CASCADE, related_name="revisions")
    revised_at = models.DateTimeField()
    old = models.JSONField()
    new = models.JSONField()

    class Meta:
        ordering = ["reading", "revised_at", "pk"]

    def __str__(self) -> str:
        return f"{self.reading}: revised at {self.revised_at}"


class AIShown(models.Model):
    """When a reader was shown the AI output for an exam, by any page, API or file link.

    Kept for readers with a reading without AI of the exam in an open study: their answer
    without AI is frozen once the AI output reached them after it was shown
    (`studies.reading.blinding`). `first_shown_at` stays; `last_shown_at` moves on.
    """

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey("annotation.Exam", on_delete=models.CASCADE, related_name="+")
    first_shown_at = models.DateTimeField()
    last_shown_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "exam"], name="ai_shown_reader_exam_unique"),
        ]

    def __str__(self) -> str:
        return f"AI output of exam {self.exam_id} shown to {self.reader_id}"
