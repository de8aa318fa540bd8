"""The clinical CSV upload page (docs/clinical_csv.md): coordinators and administrators."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.importing.clinical import ClinicalImportError, clinical_csv_import
from annotation.importing.clinical_csv import MAX_FILE_BYTES
from base.roles import COORDINATION

# A bad file can have an error on every row; the page shows this many, the count says the rest.
ERRORS_SHOWN = 500


class ClinicalUploadForm(forms.Form):
    # The page explains both fields in one paragraph, so they carry no help text.
    file = forms.FileField(label="Clinical CSV")
    skip_invalid = forms.BooleanField(required=False, label="Skip invalid rows")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 2**20:.1f} MB; the limit is "
                f"{MAX_FILE_BYTES // 2**20} MB. Split it and upload the parts."
            )
        return upload


@COORDINATION.required
def clinical_upload(request: HttpRequest) -> HttpResponse:
    form = ClinicalUploadForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        try:
            report = clinical_csv_import(data=data, skip_invalid=form.cleaned_data["skip_invalid"])
        except ClinicalImportError as error:
            form.add_error(None, str(error))
    context = {
        "form": form,
        "report": report,
        "errors_shown": report.errors[:ERRORS_SHOWN] if report else [],
        "errors_hidden": max(0, len(report.errors) - ERRORS_SHOWN) if report else 0,
        "max_megabytes": MAX_FILE_BYTES // 2**20,
    }
    return render(request, "annotation/clinical_upload.html", context)
