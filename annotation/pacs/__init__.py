"""DICOM networking with scanners and PACS (pynetdicom).

- `receiver`: our C-STORE SCP. What arrives is spooled, imported through
  `annotation.importing.images.import_paths`, and an exam counts as complete once its study has
  been quiet for EXAM_QUIET_SECONDS (`completion_sweep`).
- `query`: the SCU that asks a PACS for ultrasound studies (C-FIND) and has them sent to us
  (C-MOVE to our receiver, or C-GET over the same association).

The management commands `dicom_listener` and `dicom_retrieve` are thin wrappers around these.
"""
