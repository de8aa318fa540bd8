from django.contrib import admin

from studies.models import ImportedReaderStudy, ImportedReading


@admin.register(ImportedReaderStudy)
class ImportedReaderStudyAdmin(admin.ModelAdmin):
    list_display = ["name", "reference_modality", "created_at"]
    search_fields = ["name"]


@admin.register(ImportedReading)
class ImportedReadingAdmin(admin.ModelAdmin):
    list_display = ["study", "reader", "case", "modality", "truth", "rating", "decision"]
    list_filter = ["study", "modality"]
