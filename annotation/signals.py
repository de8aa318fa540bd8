"""What the annotation layer announces; higher layers (inference) listen."""

from django.dispatch import Signal

# Sent once per exam when its images are all in: an upload finished, or the DICOM
# receiver heard nothing new for the study during EXAM_QUIET_SECONDS. Argument: exam_id.
exam_completed = Signal()

# Sent when the demo data set has been loaded, so that higher layers can load their part of
# it (the simulated reader study). Argument: data_dir.
demo_data_loaded = Signal()
