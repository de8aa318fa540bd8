import json

from django.core.management.base import BaseCommand, CommandError

from studies.models import ImportedReaderStudy
from studies.results import COVARIANCES, ReaderStudyResultsError, reader_study_results


class Command(BaseCommand):
    help = (
        "Print an imported reader study's results: per reader and modality, pooled, and the "
        "multi-reader multi-case (Obuchowski-Rockette) analysis."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the study's name as given at import")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the JSON document"
        )
        parser.add_argument(
            "--covariance",
            choices=COVARIANCES,
            default="jackknife",
            help="AUC error covariance of the MRMC analysis (default: jackknife)",
        )
        parser.add_argument(
            "--complete-only",
            action="store_true",
            help="analyse only the readers and cases of the complete part of the design",
        )

    def handle(self, *args, name, as_json, covariance, complete_only, **options):
        study = ImportedReaderStudy.objects.filter(name=name).first()
        if study is None:
            raise CommandError(f"no imported reader study named {name!r}")
        try:
            document = reader_study_results(
                study, covariance=covariance, complete_only=complete_only
            )
        except ReaderStudyResultsError as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(json.dumps(document, ensure_ascii=False))
        else:
            self.stdout.write(_summary(study, document))


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _summary(study: ImportedReaderStudy, document: dict) -> str:
    lines = [f"Reader study {study.name!r} (reference modality {study.reference_modality!r})"]
    for entry in document["readers"]:
        sensitivity = entry["sensitivity"]["estimate"] if entry["sensitivity"] else None
        specificity = entry["specificity"]["estimate"] if entry["specificity"] else None
        lines.append(
            f"  reader {entry['reader']}, modality {entry['modality']}: AUC "
            f"{_number(entry['auc'])}, sensitivity {_number(sensitivity)}, "
            f"specificity {_number(specificity)}"
        )
    for metric, analysis in document["mrmc"].items():
        rrrc = analysis["rrrc"]
        lines.append(
            f"  {metric}: difference {_number(rrrc['difference'])} "
            f"(95% CI {_number(rrrc['ci_low'])} to {_number(rrrc['ci_high'])}), "
            f"random readers and cases F {_number(rrrc['statistic'])}, "
            f"df {_number(rrrc['df_denominator'])}, p {_number(rrrc['p_value'])}"
        )
    return "\n".join(lines)
