from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.reading.imported import MAX_FILE_BYTES, ReadingImportError, reader_study_import
from studies.results import study_design_gaps


class Command(BaseCommand):
    help = (
        "Import a reader study's readings from a long-format CSV "
        "(reader,case,modality,truth,rating[,decision][,seconds]). A file with any bad line "
        "imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV, one reading per line")
        parser.add_argument("--name", required=True, help="a unique name for the study")
        parser.add_argument(
            "--reference",
            help="the modality the others are compared against (default: the first in the file)",
        )
        parser.add_argument(
            "--accession-cases",
            action="store_true",
            help="every case is an accession number: store each as its exam's pseudonymous key "
            "(the number encrypted), also for exams not imported yet. Without it, only cases "
            "whose accession number an exam has are stored so.",
        )

    def handle(
        self,
        *args,
        file: Path,
        name: str,
        reference: str | None,
        accession_cases: bool,
        **options,
    ):
        try:
            with file.open("rb") as handle:
                # One byte past the limit is enough for the importer to refuse the file.
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
        try:
            study = reader_study_import(
                name=name,
                data=data,
                reference=reference,
                source_filename=file.name,
                accession_cases=accession_cases,
            )
        except ReadingImportError as error:
            raise CommandError(f"nothing imported: {error}") from None
        count = study.readings.count()
        hidden = study.readings.exclude(case_encrypted="").values("case").distinct().count()
        self.stdout.write(
            f"Imported reader study {study.name!r}: {count} readings, "
            f"reference modality {study.reference_modality!r}."
        )
        if hidden:
            self.stdout.write(
                f"{hidden} cases are accession numbers: stored as their exams' pseudonymous "
                "keys, the numbers encrypted."
            )
        gaps = study_design_gaps(study)
        if gaps:
            self.stderr.write(
                f"Warning: {gaps}. reader_study_results analyses it only with --complete-only."
            )
