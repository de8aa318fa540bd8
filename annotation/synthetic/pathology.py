"""Lesion features by lesion kind, the noisy malignancy draw, histology, stage, grade and CA125.

Malignancy is drawn from the IOTA ADNEX model (without CA125) applied to the drawn features,
plus noise, so that morphology predicts the outcome about as well as it does in real data:
malignant lesions are more solid, papillary, irregular and vascular on average, with overlap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np

MASS_TYPES = ("unilocular", "unilocular_solid", "multilocular", "multilocular_solid", "solid")
OUTCOMES = ("benign", "borderline", "malignant")

# ADNEX without CA125; term order: constant, age, log2(lesion), p, p^2, >10 locules,
# papillary, shadows, ascites, oncology centre. Rows: borderline, stage I, stage II-IV,
# metastatic (Van Calster et al. 2014, web appendix).
ADNEX_NO_CA125 = np.array(
    [
        [-7.412534, 0.003489, 0.430701, 7.117925, -5.74135, 1.343699, 0.607211, -2.11885,
         1.167767, 0.983227],
        [-12.201607, 0.017607, 0.98728, 10.07145, -6.17742, 0.763081, 0.410449, -1.98073,
         0.77054, 0.543677],
        [-12.826207, 0.045172, 0.759002, 11.83296, -6.64336, 0.316444, 0.390959, -2.94082,
         2.691276, 0.929483],
        [-11.424379, 0.033407, 0.560396, 7.264105, -2.77392, 0.983394, 0.199164, -2.63702,
         2.185574, 0.906249],
    ]
)  # fmt: skip

# Extra log-odds per outcome beyond ADNEX: colour score and irregular walls are not ADNEX
# terms but are strong malignancy signs in the IOTA simple rules; the offsets calibrate the
# operated cohort to roughly 65 % benign, 10 % borderline, 25 % malignant.
_COLOR_WEIGHT = np.array([0.15, 0.55, 0.55, 0.4])
_IRREGULAR_WEIGHT = np.array([0.3, 0.8, 0.8, 0.6])
_OFFSET = np.array([0.8, -1.3, -1.4, -2.3])
_NOISE_SD = 0.7

BENIGN_HISTOLOGY = {
    "simple": ("serous cystadenoma", "mucinous cystadenoma"),
    "endometrioma": ("endometrioma",),
    "teratoma": ("mature teratoma",),
    "cystadenoma": ("serous cystadenoma", "mucinous cystadenoma"),
    "fibroma": ("fibroma/thecoma",),
    "papillary": ("serous cystadenoma",),
    "invasive": ("serous cystadenoma", "fibroma/thecoma", "mucinous cystadenoma"),
}
BORDERLINE_HISTOLOGY = ("serous borderline tumour", "mucinous borderline tumour")
EARLY_STAGES = ("I", "IA", "IB", "IC")
ADVANCED_STAGES = ("II", "IIA", "IIB", "III", "IIIA", "IIIB", "IIIC", "IV", "IVA", "IVB")


@dataclass
class Features:
    mass_type: str
    lesion_diameter_mm: int
    solid_diameter_mm: int
    locules: int
    papillary_projections: int  # 0-4; 4 means more than three
    acoustic_shadows: bool
    ascites: bool
    color_score: int  # 1 (no flow) to 4 (very strong flow)
    irregular_walls: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Pathology:
    outcome: str
    histology: str
    figo_stage: str | None
    grade: int | None
    operation_date: date

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "histology": self.histology,
            "figo_stage": self.figo_stage,
            "grade": self.grade,
            "operation_date": self.operation_date.isoformat(),
        }


def mass_type_for(locules: int, solid_mm: int, lesion_mm: int) -> str:
    if solid_mm <= 0:
        return "unilocular" if locules <= 1 else "multilocular"
    if solid_mm >= 0.8 * lesion_mm:
        return "solid"
    return "unilocular_solid" if locules <= 1 else "multilocular_solid"


def _lognormal_mm(rng: np.random.Generator, median: float, sd: float, low: int, high: int) -> int:
    return int(np.clip(round(median * np.exp(rng.normal(0.0, sd))), low, high))


def draw_features(rng: np.random.Generator, kind: str) -> tuple[Features, str]:
    """Features for one lesion kind, and the cyst content look ("anechoic", "ground_glass"...)."""
    content = "anechoic"
    locules, solid, papillary = 1, 0, 0
    shadows = ascites = irregular = False
    color = int(rng.choice([1, 2, 3], p=[0.6, 0.32, 0.08]))
    if kind == "simple":
        diameter = _lognormal_mm(rng, 42, 0.4, 12, 160)
        ascites = rng.random() < 0.02
    elif kind == "endometrioma":
        diameter = _lognormal_mm(rng, 48, 0.35, 15, 140)
        locules = 1 if rng.random() < 0.85 else int(rng.integers(2, 4))
        content = "ground_glass"
    elif kind == "teratoma":
        diameter = _lognormal_mm(rng, 55, 0.35, 20, 150)
        solid = int(np.clip(diameter * rng.uniform(0.2, 0.55), 8, diameter))
        shadows = rng.random() < 0.8
        color = int(rng.choice([1, 2], p=[0.85, 0.15]))
        content = "low_level"
    elif kind == "cystadenoma":
        diameter = _lognormal_mm(rng, 85, 0.45, 30, 250)
        mucinous = rng.random() < 0.4
        locules = int(rng.integers(8, 25)) if mucinous else int(rng.integers(2, 8))
        content = "low_level" if mucinous else "anechoic"
        irregular = rng.random() < 0.08
    elif kind == "fibroma":
        diameter = _lognormal_mm(rng, 60, 0.35, 20, 160)
        solid, locules = diameter, 0
        shadows = rng.random() < 0.6
        irregular = rng.random() < 0.1
    elif kind == "papillary":
        diameter = _lognormal_mm(rng, 58, 0.4, 20, 200)
        papillary = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.25, 0.2, 0.2]))
        solid = int(np.clip(rng.uniform(5, 22), 3, diameter - 2))
        locules = 1 if rng.random() < 0.6 else int(rng.integers(2, 6))
        irregular = rng.random() < 0.5
        color = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.4, 0.35, 0.1]))
        ascites = rng.random() < 0.08
    elif kind == "invasive":
        diameter = _lognormal_mm(rng, 92, 0.4, 30, 250)
        roll = rng.random()
        if roll < 0.35:
            solid, locules = diameter, 0
        else:
            solid = int(np.clip(diameter * rng.uniform(0.25, 0.75), 10, diameter - 2))
            locules = 1 if roll < 0.55 else int(rng.integers(2, 14))
        papillary = int(rng.choice([0, 1, 2, 3, 4], p=[0.4, 0.15, 0.15, 0.1, 0.2]))
        irregular = rng.random() < 0.75
        color = int(rng.choice([1, 2, 3, 4], p=[0.05, 0.15, 0.4, 0.4]))
        ascites = rng.random() < 0.35
        shadows = rng.random() < 0.05
        content = "low_level"
    else:
        raise ValueError(f"unknown lesion kind {kind!r}")
    mass_type = mass_type_for(locules, solid, diameter)
    if mass_type == "solid":
        locules, papillary = 0, 0  # IOTA counts papillary projections in cysts only
    features = Features(
        mass_type=mass_type,
        lesion_diameter_mm=int(diameter),
        solid_diameter_mm=int(min(solid, diameter)),
        locules=int(locules),
        papillary_projections=int(papillary),
        acoustic_shadows=bool(shadows),
        ascites=bool(ascites),
        color_score=color,
        irregular_walls=bool(irregular),
    )
    return features, content


def draw_lesion_kind(rng: np.random.Generator, age: float) -> str:
    """Lesion kinds are likelier malignant-looking with age, as in real cohorts."""
    older = (age - 50.0) / 15.0
    kinds = (
        "simple",
        "endometrioma",
        "teratoma",
        "cystadenoma",
        "fibroma",
        "papillary",
        "invasive",
    )
    weights = np.array(
        [
            0.25,
            0.14 * np.exp(-0.5 * older),
            0.10 * np.exp(-0.4 * older),
            0.18,
            0.06 * np.exp(0.3 * older),
            0.11,
            0.16 * np.exp(0.6 * older),
        ]
    )
    return str(rng.choice(kinds, p=weights / weights.sum()))


def earlier_version(rng: np.random.Generator, final: Features, years_before: float) -> Features:
    """The same lesion some years before diagnosis: smaller, less solid, less suspicious."""
    shrink = float(np.clip(1.0 - 0.16 * years_before + rng.normal(0, 0.05), 0.3, 0.9))
    diameter = max(10, round(final.lesion_diameter_mm * shrink))
    solid = round(final.solid_diameter_mm * shrink * rng.uniform(0.3, 0.7))
    solid = 0 if solid < 3 else min(solid, round(diameter * 0.7))
    locules = max(1, final.locules) if final.locules else int(rng.integers(1, 4))
    return Features(
        mass_type=mass_type_for(locules, solid, diameter),
        lesion_diameter_mm=int(diameter),
        solid_diameter_mm=int(solid),
        locules=int(locules),
        papillary_projections=int(max(0, final.papillary_projections - rng.integers(1, 3))),
        acoustic_shadows=False,
        ascites=False,
        color_score=int(max(1, final.color_score - rng.integers(1, 3))),
        irregular_walls=bool(final.irregular_walls and rng.random() < 0.4),
    )


def adnex_logits(features: Features, age: float, oncology_center: bool) -> np.ndarray:
    """ADNEX (no CA125) linear predictors for borderline, stage I, stage II-IV, metastatic."""
    lesion = max(features.lesion_diameter_mm, 1)
    p = min(features.solid_diameter_mm / lesion, 1.0)
    x = np.array(
        [
            1.0,
            age,
            np.log2(lesion),
            p,
            p * p,
            float(features.locules > 10),
            float(features.papillary_projections),
            float(features.acoustic_shadows),
            float(features.ascites),
            float(oncology_center),
        ]
    )
    return ADNEX_NO_CA125 @ x


def risk_of_malignancy(features: Features, age: float, oncology_center: bool) -> float:
    z = adnex_logits(features, age, oncology_center)
    return float(1.0 - 1.0 / (1.0 + np.exp(z).sum()))


def draw_outcome(
    rng: np.random.Generator,
    features: Features,
    age: float,
    oncology_center: bool,
    force_malignant: bool = False,
) -> str:
    """One of "benign", "borderline", "stage1", "advanced", "metastatic" (noisy ADNEX)."""
    z = adnex_logits(features, age, oncology_center) + _OFFSET
    z = (
        z
        + _COLOR_WEIGHT * (features.color_score - 2)
        + _IRREGULAR_WEIGHT * features.irregular_walls
    )
    z = z + rng.normal(0.0, _NOISE_SD, size=4)
    weights = np.concatenate([[1.0], np.exp(z)])
    labels = ("benign", "borderline", "stage1", "advanced", "metastatic")
    if force_malignant:
        weights[:2] = 0.0
    return str(rng.choice(labels, p=weights / weights.sum()))


def draw_pathology(
    rng: np.random.Generator, draw: str, kind: str, features: Features, exam_date: date
) -> Pathology:
    operation = exam_date + timedelta(days=int(rng.integers(5, 61)))
    if draw == "benign":
        histology = str(rng.choice(BENIGN_HISTOLOGY[kind]))
        return Pathology("benign", histology, None, None, operation)
    if draw == "borderline":
        mucinous = features.locules > 7 or rng.random() < 0.3
        return Pathology("borderline", BORDERLINE_HISTOLOGY[int(mucinous)], None, None, operation)
    if draw == "metastatic":
        # Metastases to the ovary are staged by their primary, not by FIGO ovarian stages.
        return Pathology("malignant", "metastatic tumour", None, None, operation)
    if draw == "stage1":
        stage = str(rng.choice(EARLY_STAGES, p=[0.1, 0.4, 0.15, 0.35]))
        histology = str(
            rng.choice(
                (
                    "high-grade serous carcinoma",
                    "low-grade serous carcinoma",
                    "endometrioid carcinoma",
                    "clear cell carcinoma",
                    "mucinous carcinoma",
                ),
                p=[0.25, 0.12, 0.25, 0.22, 0.16],
            )
        )
    else:
        advanced = np.array([0.03, 0.06, 0.06, 0.05, 0.06, 0.12, 0.4, 0.05, 0.07, 0.1])
        if features.ascites:
            advanced = advanced * np.array([0.5, 0.5, 0.5, 0.8, 0.8, 1.0, 1.6, 1.5, 1.5, 1.5])
        stage = str(rng.choice(ADVANCED_STAGES, p=advanced / advanced.sum()))
        histology = str(
            rng.choice(
                (
                    "high-grade serous carcinoma",
                    "low-grade serous carcinoma",
                    "endometrioid carcinoma",
                    "clear cell carcinoma",
                    "mucinous carcinoma",
                ),
                p=[0.72, 0.08, 0.1, 0.06, 0.04],
            )
        )
    grade = {
        "high-grade serous carcinoma": 3,
        "low-grade serous carcinoma": 1,
        "clear cell carcinoma": 3,
    }.get(histology) or int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    return Pathology("malignant", histology, stage, grade, operation)


def draw_ca125(
    rng: np.random.Generator, pathology: Pathology | None, kind: str | None, later_malignant: bool
) -> float:
    """Serum CA125 in U/mL: lognormal, higher for malignant (especially advanced) tumours."""
    median, sd = 16.0, 0.8
    if kind == "endometrioma":
        median, sd = 55.0, 0.9  # endometriomas often raise CA125
    if later_malignant:
        median, sd = 28.0, 0.9
    if pathology is not None:
        if pathology.outcome == "borderline":
            median, sd = 32.0, 1.0
        elif pathology.outcome == "malignant":
            advanced = pathology.figo_stage in ADVANCED_STAGES
            median, sd = (520.0, 1.2) if advanced else (70.0, 1.1)
    value = median * float(np.exp(rng.normal(0.0, sd)))
    return float(np.clip(round(value, 1), 1.0, 100000.0))
