"""The annotation layer's models: imaging data, acquisition jobs, labelling."""

from .imaging import (
    FIGO_STAGES,
    CA125Measurement,
    Center,
    ColorModel,
    Dimension,
    Exam,
    Image,
    ImageSource,
    LesionFeatures,
    MassType,
    PathologyOutcome,
    PathologyResult,
    Patient,
)
from .jobs import DemoDataJob, ImportJob, ImportSource
from .labelling import (
    ANSWER_FIELDS,
    Adjudication,
    AnnotationItem,
    AnnotationSet,
    AnnotationSetReader,
    ImageFlag,
    Label,
    LabelChange,
    LabelSlot,
)

__all__ = [
    "ANSWER_FIELDS", "Adjudication", "AnnotationItem", "AnnotationSet", "AnnotationSetReader",
    "ImageFlag", "Label", "LabelChange", "LabelSlot",
    "FIGO_STAGES", "CA125Measurement", "Center", "ColorModel", "DemoDataJob", "Dimension", "Exam",
    "Image", "ImageSource", "ImportJob", "ImportSource", "LesionFeatures", "MassType",
    "PathologyOutcome", "PathologyResult", "Patient",
]  # fmt: skip
