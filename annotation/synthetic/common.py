"""Shared helpers: the error type, seeded random streams and deterministic DICOM UIDs."""

from __future__ import annotations

import hashlib

import numpy as np


class GeneratorError(ValueError):
    """A nonsense parameter was passed to the generator; the message names it."""


def _digest(seed: int, parts: tuple[object, ...]) -> bytes:
    text = "annotation.synthetic|" + str(seed) + "|" + "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).digest()


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """An independent random stream for one concern (cohort, one image, readers...).

    Keying streams by name keeps, say, an image's pixels unchanged when the reader
    simulation changes, and lets images be rendered in any order or process.
    """
    words = np.frombuffer(_digest(seed, parts), dtype=np.uint32)
    return np.random.default_rng(np.random.SeedSequence(words.tolist()))


def uid_for(seed: int, *parts: object) -> str:
    """A deterministic UUID-derived DICOM UID (2.25.<128-bit integer>), at most 43 characters."""
    value = int.from_bytes(_digest(seed, ("uid", *parts))[:16], "big")
    return f"2.25.{value}"
