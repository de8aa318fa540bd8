"""Simulated radiologists: image-level annotation labels and reader-study reads.

Annotation readers answer the method's six questions per image from the image truth with
skill-dependent error rates. Study readers form a latent suspicion from the lesion's features
plus personal noise; in the aided arm they blend in a simulated AI score (the truth seen
through noise, AUC about 0.9). Borderline tumours count as malignant (positive) truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotation.synthetic.cohort import Cohort, Exam, ImagePlan
from annotation.synthetic.common import rng_for
from annotation.synthetic.pathology import risk_of_malignancy

LABEL_COLUMNS = (
    "sop_instance_uid", "frame_index", "reader", "adnexal", "lesion", "ascites", "blood_flow",
    "is_3d", "cannot_determine", "cannot_determine_reason", "seconds_spent",
)  # fmt: skip
READ_COLUMNS = ("reader", "accession_number", "arm", "malignant", "confidence", "seconds_spent")
CALIBRATION_IMAGES = 20
AI_SEPARATION = 1.81  # d' of a binormal score with AUC 0.9


@dataclass(frozen=True)
class Reader:
    code: str
    years: int
    specialty: str
    skill: float  # 0..1; higher makes fewer mistakes
    reliance: float = 0.0  # study readers: weight given to the AI score when aided

    def as_dict(self) -> dict:
        return {"code": self.code, "years": self.years, "specialty": self.specialty}


def _readers(seed: int, prefix: str, count: int) -> list[Reader]:
    rng = rng_for(seed, "readers", prefix)
    readers = []
    for index in range(count):
        years = int(rng.integers(1, 26))
        gyn = rng.random() < 0.6
        skill = float(
            np.clip(0.5 + 0.015 * years + (0.12 if gyn else 0) + rng.normal(0, 0.05), 0.4, 0.97)
        )
        readers.append(
            Reader(
                code=f"{prefix}{index + 1:02d}",
                years=years,
                specialty="gynaecological ultrasound" if gyn else "general radiology",
                skill=skill,
                reliance=float(rng.uniform(0.45, 0.75)),
            )
        )
    return readers


def annotation_readers(seed: int) -> list[Reader]:
    return _readers(seed, "R", 10)


def study_readers(seed: int) -> list[Reader]:
    return _readers(seed, "S", 6)


def image_truth(exam: Exam, plan: ImagePlan) -> dict[str, bool]:
    features = exam.features
    return {
        "adnexal": plan.anatomy == "adnexa",
        "lesion": bool(plan.lesion),
        "ascites": bool(plan.ascites),
        "blood_flow": bool(plan.doppler and features is not None and features.color_score >= 2),
        "is_3d": bool(plan.is_3d),
    }


def _label(rng: np.random.Generator, reader: Reader, exam: Exam, plan: ImagePlan) -> dict:
    truth = image_truth(exam, plan)
    low_contrast = exam.center.low_contrast
    features = exam.features
    undetermined = {"empty": 0.3}.get(plan.anatomy, 0.02 if low_contrast else 0.006)
    row: dict[str, object] = {"reader": reader.code}
    seconds = 12.0 * (1.3 - 0.02 * reader.years) * np.exp(rng.normal(0, 0.45))
    if rng.random() < undetermined:
        reason = "no probe contact" if plan.anatomy == "empty" else "poor image quality"
        row.update({key: "" for key in truth})
        row.update(cannot_determine=1, cannot_determine_reason=reason)
        row["seconds_spent"] = int(max(2, round(seconds * 0.7)))
        return row
    base = 0.3 * (1.0 - reader.skill)
    small = features is not None and features.lesion_diameter_mm < 25
    difficulty = {
        "adnexal": 1.0 + (1.0 if low_contrast else 0.0),
        "lesion": (0.2 if plan.is_3d else 1.0 + (2.0 if small else 0.0)) + low_contrast,
        "ascites": 1.5,
        "blood_flow": (2.0 if features and features.color_score == 2 else 0.6)
        if plan.doppler
        else 0.1,
        "is_3d": 0.05,
    }
    for key, value in truth.items():
        wrong = rng.random() < min(0.45, base * difficulty[key])
        row[key] = int(value != wrong)
    row.update(cannot_determine=0, cannot_determine_reason="")
    row["seconds_spent"] = int(max(2, round(seconds * (1.4 if plan.doppler else 1.0))))
    return row


def annotation_labels(seed: int, cohort: Cohort) -> list[dict]:
    """Rows for annotation_labels.csv, in image order then reader order."""
    rng = rng_for(seed, "annotation-labels")
    readers = annotation_readers(seed)
    images = [(exam, plan) for exam in cohort.exams for plan in exam.images]
    calibration = set(rng.permutation(len(images))[:CALIBRATION_IMAGES].tolist())
    rows = []
    for index, (exam, plan) in enumerate(images):
        if index in calibration:
            chosen = list(range(len(readers)))
        elif rng.random() < 0.15:
            chosen = sorted(rng.choice(len(readers), size=int(rng.integers(2, 4)), replace=False))
        else:
            chosen = [int(rng.integers(0, len(readers)))]
        for reader_index in chosen:
            row = {"sop_instance_uid": plan.sop_instance_uid, "frame_index": 0}
            row.update(_label(rng, readers[int(reader_index)], exam, plan))
            rows.append({key: row[key] for key in LABEL_COLUMNS})
    return rows


def _feature_suspicion(exam: Exam) -> float:
    """Log-odds of malignancy a radiologist would read off the morphology."""
    features = exam.features
    assert features is not None  # study cases have pathology, hence a lesion
    risk = risk_of_malignancy(features, exam.age, exam.center.is_oncology_center)
    logit = float(np.log(max(risk, 1e-4) / max(1 - risk, 1e-4)))
    return logit + 0.5 * (features.color_score - 2) + 0.7 * features.irregular_walls


def reader_reads(seed: int, cohort: Cohort) -> list[dict]:
    """Rows for reader_reads.csv: every study reader reads every case, unaided then aided."""
    rng = rng_for(seed, "reader-study")
    cases = [exam for exam in cohort.exams if exam.pathology is not None]
    truth = np.array([bool(exam.positive) for exam in cases])
    ai = AI_SEPARATION * (truth - 0.5) + rng.standard_normal(len(cases))
    rows = []
    for reader in study_readers(seed):
        noise_sd = 4.2 - 2.0 * reader.skill
        bias = rng.normal(0, 0.35)
        for index, exam in enumerate(cases):
            base = _feature_suspicion(exam) + 1.1
            unaided = base + bias + rng.normal(0, noise_sd)
            # Aided: the reader's own impression pulled towards the AI score (scaled to logits).
            aided = (1 - reader.reliance) * unaided + reader.reliance * 2.2 * ai[index]
            aided += rng.normal(0, 0.3)
            for arm, latent in (("unaided", unaided), ("aided", aided)):
                probability = 1.0 / (1.0 + np.exp(-latent))
                seconds = 45.0 * (1.3 - 0.015 * reader.years) * np.exp(rng.normal(0, 0.4))
                rows.append(
                    {
                        "reader": reader.code,
                        "accession_number": exam.accession_number,
                        "arm": arm,
                        "malignant": int(probability >= 0.5),
                        "confidence": int(round(100 * probability)),
                        "seconds_spent": int(round(seconds * (0.85 if arm == "aided" else 1.0))),
                    }
                )
    return rows
