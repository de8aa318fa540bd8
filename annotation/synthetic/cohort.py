"""The seeded cohort: patients, exams, features, pathology, CA125 and the plan of each image.

Everything here is plain data; no pixels. Rendering and file writing read these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from annotation.synthetic.centers import CENTERS, FIRST_NAMES, LAST_NAMES, Center
from annotation.synthetic.common import rng_for, uid_for
from annotation.synthetic.pathology import (
    Features,
    Pathology,
    draw_ca125,
    draw_features,
    draw_lesion_kind,
    draw_outcome,
    draw_pathology,
    earlier_version,
)

FIRST_DAY = date(2016, 1, 1)
LAST_DAY = date(2025, 12, 31)
_HOME_WEIGHTS = np.array([0.35, 0.25, 0.2, 0.2])
_ONCOLOGY = [i for i, c in enumerate(CENTERS) if c.is_oncology_center]


@dataclass
class Report:
    lesion_size_mm: int | None
    mass_type: str | None
    text: str

    def as_dict(self) -> dict:
        return {
            "lesion_size_mm": self.lesion_size_mm,
            "mass_type": self.mass_type,
            "text": self.text,
        }


@dataclass
class ImagePlan:
    number: int  # 1-based within the exam; the file name
    anatomy: str  # "adnexa", "uterus", "bladder" or "empty"
    lesion: bool
    doppler: bool
    is_3d: bool
    frames: int
    ascites: bool
    series_number: int
    series_instance_uid: str
    sop_instance_uid: str
    content_time: str  # HHMMSS


@dataclass
class Exam:
    accession_number: str
    hospital_id: str
    center: Center
    exam_date: date
    study_time: str
    study_instance_uid: str
    age: float
    side: str  # "left" or "right"
    kind: str | None  # lesion kind (internal; drives the cyst content and histology)
    content: str  # cyst content look
    features: Features | None
    report: Report
    pathology: Pathology | None = None
    ca125: tuple[float, date] | None = None
    images: list[ImagePlan] = field(default_factory=list)

    @property
    def positive(self) -> bool | None:
        """Borderline counts as positive (malignant) truth; None without pathology."""
        if self.pathology is None:
            return None
        return self.pathology.outcome != "benign"


@dataclass
class Patient:
    hospital_id: str
    first_name: str
    last_name: str
    birth_date: date
    home_center: Center
    later_diagnosed: bool
    exams: list[Exam] = field(default_factory=list)

    @property
    def dicom_name(self) -> str:
        return f"{self.last_name}^{self.first_name}"


@dataclass
class Cohort:
    seed: int
    patients: list[Patient]

    @property
    def exams(self) -> list[Exam]:
        return [exam for patient in self.patients for exam in patient.exams]


def _report(rng: np.random.Generator, exam: Exam) -> Report:
    features = exam.features
    if features is None:
        return Report(None, None, "Uterus and both ovaries of normal appearance. No adnexal mass.")
    size = max(1, round(features.lesion_diameter_mm * rng.normal(1.0, 0.05)))
    mass_type = features.mass_type
    if rng.random() < 0.08:  # radiologists do not always classify the mass as IOTA would
        neighbours = {
            "unilocular": "unilocular_solid",
            "unilocular_solid": "multilocular_solid",
            "multilocular": "multilocular_solid",
            "multilocular_solid": "solid",
            "solid": "multilocular_solid",
        }
        mass_type = neighbours[mass_type]
    words = mass_type.replace("_", "-")
    text = f"{exam.side.capitalize()} adnexa: {words} mass measuring {size} mm"
    if features.solid_diameter_mm and mass_type != "solid":
        text += f", largest solid component {features.solid_diameter_mm} mm"
    if features.papillary_projections:
        count = (
            "more than three"
            if features.papillary_projections == 4
            else str(features.papillary_projections)
        )
        text += f", {count} papillary projection(s)"
    if features.irregular_walls:
        text += ", irregular inner wall"
    text += f". Colour score {features.color_score}."
    if features.acoustic_shadows:
        text += " Acoustic shadowing."
    if exam.content == "ground_glass":
        text += " Ground-glass content."
    text += " Ascites present." if features.ascites else " No ascites."
    return Report(int(size), mass_type, text)


def _plan_images(rng: np.random.Generator, seed: int, exam: Exam) -> list[ImagePlan]:
    count = int(rng.integers(2, 9))
    has_lesion = exam.features is not None
    kinds: list[tuple[str, bool, bool, bool]] = []  # anatomy, lesion, doppler, 3d
    if has_lesion:
        if count >= 3 and rng.random() < 0.75:
            kinds.append(("adnexa", True, True, False))
        if count >= 6 and rng.random() < 0.3:
            kinds.append(("adnexa", True, True, False))
        if count >= 4 and rng.random() < 0.15:
            kinds.append(("adnexa", True, False, True))
        if count - len(kinds) >= 3 and rng.random() < 0.2:
            kinds.append(("adnexa", False, False, False))
    non_adnexal = int(rng.binomial(count, 0.2 if has_lesion else 0.35))
    for _ in range(min(non_adnexal, count - len(kinds) - 1)):
        anatomy = str(rng.choice(["uterus", "bladder", "empty"], p=[0.5, 0.3, 0.2]))
        kinds.append((anatomy, False, False, False))
    while len(kinds) < count:
        kinds.append(("adnexa", has_lesion, False, False))
    order = rng.permutation(len(kinds))
    ascites = bool(exam.features is not None and exam.features.ascites)
    start = int(exam.study_time[:2]) * 3600 + int(exam.study_time[2:4]) * 60
    plans = []
    for number, index in enumerate(order, start=1):
        anatomy, lesion, doppler, is_3d = kinds[int(index)]
        frames = 8 if (not doppler and not is_3d and rng.random() < 1 / 12) else 1
        shows_ascites = ascites and anatomy in ("adnexa", "uterus") and rng.random() < 0.8
        series = 3 if is_3d else (2 if frames > 1 else 1)
        start += int(rng.integers(15, 70))
        clock = f"{start // 3600 % 24:02d}{start // 60 % 60:02d}{start % 60:02d}"
        plans.append(
            ImagePlan(
                number=number,
                anatomy=anatomy,
                lesion=lesion,
                doppler=doppler,
                is_3d=is_3d,
                frames=frames,
                ascites=shows_ascites,
                series_number=series,
                series_instance_uid=uid_for(seed, "series", exam.accession_number, series),
                sop_instance_uid=uid_for(seed, "sop", exam.accession_number, number),
                content_time=clock,
            )
        )
    return plans


def _exam_dates(rng: np.random.Generator, count: int) -> list[date]:
    total_days = (LAST_DAY - FIRST_DAY).days
    if count == 1:
        return [FIRST_DAY + timedelta(days=int(rng.integers(0, total_days + 1)))]
    span = int(rng.integers(365, 5 * 365 + 1))
    first = FIRST_DAY + timedelta(days=int(rng.integers(0, total_days - span + 1)))
    offsets = sorted(int(x) for x in rng.choice(np.arange(1, span), size=count - 2, replace=False))
    return [first] + [first + timedelta(days=o) for o in offsets] + [first + timedelta(days=span)]


def _unique_names(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    used: set[tuple[str, str]] = set()
    for _ in range(count):
        for _attempt in range(30):  # unique while the lists allow; later duplicates are realistic
            pair = (str(rng.choice(FIRST_NAMES)), str(rng.choice(LAST_NAMES)))
            if pair not in used:
                break
        used.add(pair)
        names.append(pair)
    return names


def build_cohort(patients: int, seed: int) -> Cohort:
    """The whole cohort for (patients, seed); deterministic, no pixels."""
    rng = rng_for(seed, "cohort")
    hospital_numbers = rng.choice(999_999, size=patients, replace=False) + 1
    names = _unique_names(rng, patients)
    accessions: set[str] = set()
    result: list[Patient] = []
    for index in range(patients):
        home = CENTERS[int(rng.choice(len(CENTERS), p=_HOME_WEIGHTS))]
        exam_count = 1 if rng.random() < 0.7 else int(rng.integers(2, 5))
        later = exam_count > 1 and rng.random() < 0.42
        dates = _exam_dates(rng, exam_count)
        age_first = float(np.clip(rng.normal(49.0, 14.0), 18.0, 85.0))
        if later:
            age_first = float(np.clip(age_first + 6.0, 18.0, 85.0))
        birth_year = dates[0].year - int(age_first)
        birth_date = date(birth_year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
        patient = Patient(
            hospital_id=f"H-{int(hospital_numbers[index]):06d}",
            first_name=names[index][0],
            last_name=names[index][1],
            birth_date=birth_date,
            home_center=home,
            later_diagnosed=later,
        )
        side = "left" if rng.random() < 0.5 else "right"
        age_last = (dates[-1] - birth_date).days / 365.25
        kind = "invasive" if later else draw_lesion_kind(rng, age_last)
        final_features, content = draw_features(rng, kind)
        ca125_dates: set[date] = set()  # one measurement a day per patient, as a lab reports
        for number, exam_date in enumerate(dates):
            is_last = number == exam_count - 1
            center = home
            if rng.random() < 0.1 or (later and is_last and rng.random() < 0.5):
                choices = _ONCOLOGY if later and is_last else range(len(CENTERS))
                center = CENTERS[int(rng.choice(list(choices)))]
            features: Features | None = final_features
            if later and not is_last:
                years = (dates[-1] - exam_date).days / 365.25
                features = earlier_version(rng, final_features, years)
            elif not later and exam_count > 1 and not is_last:
                features = final_features if rng.random() < 0.85 else None
            elif not later and rng.random() < 0.1:
                features = None
            while True:
                accession = f"A{exam_date:%Y%m%d}-{int(rng.integers(1, 10000)):04d}"
                if accession not in accessions:
                    accessions.add(accession)
                    break
            start = int(rng.integers(7 * 60 + 30, 18 * 60))
            exam = Exam(
                accession_number=accession,
                hospital_id=patient.hospital_id,
                center=center,
                exam_date=exam_date,
                study_time=f"{start // 60:02d}{start % 60:02d}{int(rng.integers(0, 60)):02d}",
                study_instance_uid=uid_for(seed, "study", accession),
                age=(exam_date - birth_date).days / 365.25,
                side=side,
                kind=kind if features is not None else None,
                content=content,
                features=features,
                report=Report(None, None, ""),
            )
            exam.report = _report(rng, exam)
            operated = (
                features is not None
                and is_last
                and (later or rng.random() < (0.85 if exam_count == 1 else 0.5))
            )
            if operated and features is not None:
                draw = draw_outcome(
                    rng, features, exam.age, center.is_oncology_center, force_malignant=later
                )
                exam.pathology = draw_pathology(rng, draw, kind, features, exam_date)
            if rng.random() >= 0.15:
                value = draw_ca125(rng, exam.pathology, exam.kind, later and not is_last)
                measured = exam_date + timedelta(days=int(rng.integers(-14, 15)))
                while measured in ca125_dates:
                    measured += timedelta(days=1)
                ca125_dates.add(measured)
                exam.ca125 = (value, measured)
            exam.images = _plan_images(rng, seed, exam)
            patient.exams.append(exam)
        result.append(patient)
    return Cohort(seed=seed, patients=result)
