"""The demo's simulated reader study: the generator's reads, as an imported reader study."""

import csv
import io
import json
from pathlib import Path

from .models import ImportedReaderStudy
from .reading_import import reader_study_import

DEMO_STUDY = "Demo: simulated readers without and with AI"


def demo_reader_study_load(*, data_dir: Path, **kwargs) -> None:
    """Load reader_reads.csv once; truth from pathology, borderline counting as malignant."""
    if ImportedReaderStudy.objects.filter(name=DEMO_STUDY).exists():
        return
    manifest = json.loads((data_dir / "manifest.json").read_text())
    truth = {
        exam["accession_number"]: int(exam["pathology"]["outcome"] != "benign")
        for exam in manifest["exams"]
        if exam["pathology"]
    }
    with (data_dir / "reader_reads.csv").open(newline="") as handle:
        reads = list(csv.DictReader(handle))
    if not reads:  # a tiny demo has no operated exam, so nothing was read
        return
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reader", "case", "modality", "truth", "rating", "decision", "seconds"])
    for row in reads:
        writer.writerow(
            [
                row["reader"],
                row["accession_number"],
                row["arm"],
                truth[row["accession_number"]],
                row["confidence"],
                row["malignant"],
                row["seconds_spent"],
            ]
        )
    reader_study_import(
        name=DEMO_STUDY,
        data=out.getvalue().encode(),
        reference="unaided",
        source_filename="reader_reads.csv",
    )
