"""The annotation layer's models: imaging data, acquisition jobs, labelling."""

from annotation.models.imaging import (
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
from annotation.models.jobs import DemoDataJob, ImportJob, ImportSource
from annotation.models.labelling import (
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
