from django.contrib import admin

from annotation.models import (
    CA125Measurement,
    Center,
    DemoDataJob,
    Exam,
    Image,
    LesionFeatures,
    PathologyResult,
    Patient,
)
from annotation.services import patient_delete


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_internal", "is_oncology_center"]
    list_filter = ["is_internal", "is_oncology_center"]
    search_fields = ["code", "name"]


class ExamInline(admin.TabularInline):
    model = Exam
    fields = ["exam_date", "center", "report_mass_type", "report_lesion_size_mm"]
    extra = 0
    show_change_link = True


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["short_pseudonym", "birth_year", "created_at"]
    search_fields = ["pseudonym"]
    # The encrypted identifiers are never edited by hand: they come from imports.
    readonly_fields = ["pseudonym", "identifiers_encrypted"]
    inlines = [ExamInline]

    # Deleting here goes through the service, so stored images go too.
    def delete_model(self, request, obj) -> None:
        patient_delete(patient=obj)

    def delete_queryset(self, request, queryset) -> None:
        for patient in queryset:
            patient_delete(patient=patient)


class ImageInline(admin.TabularInline):
    model = Image
    fields = ["file", "width", "height", "color_model", "dimension", "doppler", "frame_index"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


class PathologyInline(admin.StackedInline):
    model = PathologyResult
    extra = 0


class FeaturesInline(admin.StackedInline):
    model = LesionFeatures
    extra = 0


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ["pk", "patient", "center", "exam_date", "report_mass_type"]
    list_filter = ["center", "report_mass_type", "pathology__outcome"]
    date_hierarchy = "exam_date"
    readonly_fields = ["study_instance_uid", "accession_key", "identifiers_encrypted"]
    list_select_related = ["patient", "center"]
    inlines = [PathologyInline, FeaturesInline, ImageInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["pk", "exam", "width", "height", "color_model", "dimension", "doppler"]
    list_filter = ["dimension", "doppler", "color_model", "source"]
    readonly_fields = ["sha256", "source_sha256", "sop_instance_uid", "series_instance_uid"]
    list_select_related = ["exam__patient"]


@admin.register(PathologyResult)
class PathologyResultAdmin(admin.ModelAdmin):
    list_display = ["exam", "outcome", "histological_type", "figo_stage", "grade"]
    list_filter = ["outcome", "figo_stage"]


@admin.register(CA125Measurement)
class CA125MeasurementAdmin(admin.ModelAdmin):
    list_display = ["patient", "measured_on", "value_u_per_ml"]


@admin.register(LesionFeatures)
class LesionFeaturesAdmin(admin.ModelAdmin):
    list_display = ["exam", "mass_type", "lesion_diameter_mm", "solid_diameter_mm", "color_score"]
    list_filter = ["mass_type", "color_score", "ascites"]


@admin.register(DemoDataJob)
class DemoDataJobAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "status",
        "patients",
        "seed",
        "progress_done",
        "progress_total",
        "created_at",
    ]
    list_filter = ["status"]
