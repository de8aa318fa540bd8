"""Centres, patients, exams, images and the clinical data that go with them.

No names or hospital identifiers are stored in clear: a patient is a keyed pseudonym,
and the few identifiers needed to talk back to the PACS are kept encrypted.
"""

from django.db import models
from django.db.models import F, Q

from base.models import TimeStampedModel


class Center(TimeStampedModel):
    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    is_internal = models.BooleanField(
        default=True, help_text="Internal centres train models; external ones validate them."
    )
    is_oncology_center = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Patient(TimeStampedModel):
    pseudonym = models.CharField(
        max_length=64, unique=True, help_text="HMAC-SHA256 of the hospital patient ID."
    )
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    identifiers_encrypted = models.TextField(
        blank=True, help_text="Hospital patient ID, encrypted with IDENTIFIER_KEY."
    )

    class Meta:
        ordering = ["pseudonym"]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True)
                | Q(birth_year__gte=1900, birth_year__lte=2100),
                name="patient_birth_year_range",
            ),
        ]

    def __str__(self) -> str:
        return self.short_pseudonym

    @property
    def short_pseudonym(self) -> str:
        return f"P-{self.pseudonym[:10]}"


class MassType(models.TextChoices):
    UNILOCULAR = "unilocular", "Unilocular"
    UNILOCULAR_SOLID = "unilocular_solid", "Unilocular-solid"
    MULTILOCULAR = "multilocular", "Multilocular"
    MULTILOCULAR_SOLID = "multilocular_solid", "Multilocular-solid"
    SOLID = "solid", "Solid"


class Exam(TimeStampedModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="exams")
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="exams")
    exam_date = models.DateField()
    study_instance_uid = models.CharField(
        max_length=64, blank=True, help_text="Pseudonymous UID derived from the original."
    )
    accession_key = models.CharField(
        max_length=64, blank=True, help_text="HMAC of the accession number, for matching imports."
    )
    identifiers_encrypted = models.TextField(
        blank=True, help_text="Accession number and original study UID, encrypted."
    )
    report_lesion_size_mm = models.FloatField(null=True, blank=True)
    report_mass_type = models.CharField(max_length=24, choices=MassType.choices, blank=True)
    report_text = models.TextField(blank=True)
    last_image_at = models.DateTimeField(
        null=True, blank=True, help_text="When the latest image of this exam arrived."
    )
    acquisition_completed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the exam counted as complete (upload finished or receiver went quiet).",
    )

    class Meta:
        ordering = ["-exam_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study_instance_uid"],
                condition=~Q(study_instance_uid=""),
                name="exam_unique_study_uid",
            ),
            models.UniqueConstraint(
                fields=["accession_key"],
                condition=~Q(accession_key=""),
                name="exam_unique_accession",
            ),
            models.CheckConstraint(
                condition=Q(report_lesion_size_mm__isnull=True)
                | Q(report_lesion_size_mm__gt=0, report_lesion_size_mm__lte=400),
                name="exam_report_lesion_size_range",
            ),
        ]
        indexes = [models.Index(fields=["patient", "exam_date"])]

    def __str__(self) -> str:
        return f"Exam {self.pk} of {self.patient} on {self.exam_date}"

    @property
    def age_at_exam(self) -> int | None:
        """Age in whole years; only the birth year is kept, so it may be one year high."""
        if self.patient.birth_year is None:
            return None
        return self.exam_date.year - self.patient.birth_year


class ColorModel(models.TextChoices):
    MONOCHROME1 = "MONOCHROME1"
    MONOCHROME2 = "MONOCHROME2"
    RGB = "RGB"
    YBR_FULL = "YBR_FULL"
    YBR_FULL_422 = "YBR_FULL_422"
    PALETTE_COLOR = "PALETTE COLOR"


class Dimension(models.TextChoices):
    TWO_D = "2d", "2D"
    THREE_D = "3d", "3D"
    UNKNOWN = "unknown", "Unknown"


class ImageSource(models.TextChoices):
    DICOM = "dicom", "DICOM"
    PNG = "png", "PNG"
    JPEG = "jpeg", "JPEG"


class Image(TimeStampedModel):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to="images/%Y/%m/")
    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, db_index=True, help_text="Of the stored file.")
    source = models.CharField(max_length=8, choices=ImageSource.choices)
    source_sha256 = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Of the imported file."
    )
    identifiers_encrypted = models.TextField(
        blank=True, help_text="Original SOP Instance and Series UIDs, encrypted."
    )
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    frame_index = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveIntegerField(default=1)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    color_model = models.CharField(max_length=16, choices=ColorModel.choices)
    dimension = models.CharField(max_length=8, choices=Dimension.choices, default=Dimension.UNKNOWN)
    doppler = models.BooleanField(null=True, blank=True, help_text="Colour Doppler, where known.")
    pixel_spacing_mm = models.FloatField(null=True, blank=True)
    hidden = models.BooleanField(
        default=False,
        help_text="Flagged for identifying text; hidden until an administrator decides.",
    )
    scan_region = models.JSONField(
        null=True, blank=True, help_text="[x0, y0, x1, y1] of the scan area in the stored file."
    )

    class Meta:
        ordering = ["exam", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sop_instance_uid", "frame_index"],
                condition=~Q(sop_instance_uid=""),
                name="image_unique_sop_frame",
            ),
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="image_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(frame_index__lt=F("frame_count")), name="image_frame_in_range"
            ),
            models.CheckConstraint(
                condition=Q(pixel_spacing_mm__isnull=True) | Q(pixel_spacing_mm__gt=0),
                name="image_pixel_spacing_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Image {self.pk} ({self.width}×{self.height})"


class PathologyOutcome(models.TextChoices):
    BENIGN = "benign", "Benign"
    BORDERLINE = "borderline", "Borderline"
    MALIGNANT = "malignant", "Malignant"


FIGO_STAGES = [
    "I",
    "IA",
    "IB",
    "IC",
    "II",
    "IIA",
    "IIB",
    "III",
    "IIIA",
    "IIIB",
    "IIIC",
    "IV",
    "IVA",
    "IVB",
]


class PathologyResult(TimeStampedModel):
    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="pathology")
    outcome = models.CharField(max_length=16, choices=PathologyOutcome.choices)
    histological_type = models.CharField(max_length=100, blank=True)
    figo_stage = models.CharField(
        max_length=4, blank=True, choices=[(stage, stage) for stage in FIGO_STAGES]
    )
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    operation_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=3),
                name="pathology_grade_range",
            ),
            models.CheckConstraint(
                condition=Q(figo_stage="") | Q(outcome="malignant"),
                name="pathology_stage_only_malignant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.histological_type or 'type unknown'})"


class CA125Measurement(TimeStampedModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="ca125")
    exam = models.ForeignKey(
        Exam, null=True, blank=True, on_delete=models.SET_NULL, related_name="ca125"
    )
    value_u_per_ml = models.FloatField(help_text="Serum CA125 in U/mL.")
    measured_on = models.DateField()

    class Meta:
        ordering = ["measured_on"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "measured_on"], name="ca125_one_per_day"),
            models.CheckConstraint(
                condition=Q(value_u_per_ml__gt=0, value_u_per_ml__lte=100000),
                name="ca125_value_range",
            ),
        ]

    def __str__(self) -> str:
        return f"CA125 {self.value_u_per_ml:g} U/mL on {self.measured_on}"


class LesionFeatures(TimeStampedModel):
    """The lesion's ultrasound features in IOTA terms; blank where unknown."""

    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="features")
    mass_type = models.CharField(max_length=24, choices=MassType.choices, blank=True)
    lesion_diameter_mm = models.FloatField(null=True, blank=True)
    solid_diameter_mm = models.FloatField(
        null=True, blank=True, help_text="Largest solid component; 0 when there is none."
    )
    locules = models.PositiveSmallIntegerField(null=True, blank=True)
    papillary_projections = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0–3, or 4 for more than three."
    )
    acoustic_shadows = models.BooleanField(null=True, blank=True)
    ascites = models.BooleanField(null=True, blank=True)
    color_score = models.PositiveSmallIntegerField(null=True, blank=True)
    irregular_walls = models.BooleanField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "lesion features"
        constraints = [
            models.CheckConstraint(
                condition=Q(lesion_diameter_mm__isnull=True)
                | Q(lesion_diameter_mm__gt=0, lesion_diameter_mm__lte=400),
                name="features_lesion_diameter_range",
            ),
            models.CheckConstraint(
                condition=Q(solid_diameter_mm__isnull=True) | Q(solid_diameter_mm__gte=0),
                name="features_solid_diameter_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(solid_diameter_mm__isnull=True)
                | Q(lesion_diameter_mm__isnull=True)
                | Q(solid_diameter_mm__lte=F("lesion_diameter_mm")),
                name="features_solid_within_lesion",
            ),
            models.CheckConstraint(
                condition=Q(locules__isnull=True) | Q(locules__lte=100),
                name="features_locules_range",
            ),
            models.CheckConstraint(
                condition=Q(papillary_projections__isnull=True) | Q(papillary_projections__lte=4),
                name="features_papillary_range",
            ),
            models.CheckConstraint(
                condition=Q(color_score__isnull=True) | Q(color_score__gte=1, color_score__lte=4),
                name="features_color_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Features of exam {self.exam_id}"
