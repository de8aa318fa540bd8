"""The bridge from a designed study's reads to its results (`studies.results`).

`designed_study_source(study)` turns every submitted, non-practice case reading into one
long-format `Reading`: reader = the username, case = the exam's ID as a string, modality =
"without AI" (the reference) or "with AI", truth from pathology (borderline and malignant
count as malignant), rating = the confidence 0-100, decision = malignant yes (1) / no (0),
seconds = the active reading time. A case read twice in one arm (a crossover never does;
a changed design would) keeps its latest answer. The AI alone comes from the ensemble in
service (`inference.selectors.ai_case_scores`): the exam score Θ and its 0/1 decision.
Each reader's specialty and years of experience (`ReaderStudyReader`) go with it, for the
subgroup results.
"""

from __future__ import annotations

from studies.design.services import exam_truth
from studies.models import Arm, CaseReading, ReaderStudy
from studies.reading.imported import Reading
from studies.results.sources import ReaderProfile, ResultSource

MODALITIES = {Arm.WITHOUT_AI: Arm.WITHOUT_AI.label, Arm.WITH_AI: Arm.WITH_AI.label}
REFERENCE = MODALITIES[Arm.WITHOUT_AI]  # "without AI"


def designed_study_source(study: ReaderStudy) -> ResultSource:
    """The study's answered reads (practice left out) and the AI alone on its cases."""
    from inference.selectors import ai_case_scores  # the layer above annotation; lazily

    readings = (
        CaseReading.objects.filter(session__study=study, practice=False, answered_at__isnull=False)
        .select_related("session__reader", "exam__pathology")
        .order_by("answered_at", "pk")
    )
    cells: dict[tuple[str, str, str], Reading] = {}
    for line, reading in enumerate(readings, start=1):
        truth = exam_truth(reading.exam)
        if truth is None:  # the pathology was removed after the design; nothing to compare
            continue
        key = (
            reading.session.reader.get_username(),
            str(reading.exam_id),
            MODALITIES[reading.session.arm],
        )
        cells[key] = Reading(
            line=line,
            reader=key[0],
            case=key[1],
            modality=key[2],
            truth=truth,
            rating=float(reading.confidence),
            decision=int(reading.malignant),
            seconds=reading.active_seconds,
        )
    exam_ids = list(study.cases.filter(practice=False).values_list("exam_id", flat=True))
    scores = ai_case_scores(exam_ids)
    ai_by_case = {
        str(exam_id): (float(score), int(decision)) for exam_id, (score, decision) in scores.items()
    }
    profiles = {
        participant.reader.get_username(): ReaderProfile(
            specialty=participant.specialty,
            specialty_label=participant.get_specialty_display() if participant.specialty else "",
            experience_years=participant.experience_years,
        )
        for participant in study.readers.select_related("reader")
    }
    return ResultSource(
        title=study.name,
        readings=sorted(cells.values(), key=lambda r: (r.modality != REFERENCE, r.reader, r.line)),
        reference_modality=REFERENCE,
        ai_by_case=ai_by_case or None,
        reader_profiles=profiles,
    )
