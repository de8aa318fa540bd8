"""A seeded, reproducible synthetic pelvic ultrasound data set (no real patient data).

Django-free: imports only the standard library, numpy, scipy, Pillow and pydicom.
"""

from annotation.synthetic.common import GeneratorError
from annotation.synthetic.dataset import DEFAULT_PATIENTS, generate_dataset

__all__ = ["DEFAULT_PATIENTS", "GeneratorError", "generate_dataset"]
