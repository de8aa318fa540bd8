"""What labelling (annotation.labelling.flow) and reader-study reading (studies.reading.flow)
share: the steps of a reading screen and the focused-time rule.

Both screens run the same steps on a "case" (a label of an image; a reader-study case):
`next` hands the reader their first unfinished case (resuming a closed tab) and marks it
shown; `autosave` stores answers as they are made and adds focused time, never half-changing
a submitted answer; `submit` stores the answers once (the same submit again changes nothing)
and the reply carries the next case; `previous` goes back to a submitted case to correct it.
Each screen adds its own rules: labelling its leases, quota and adjudication; reading its
arms, washout, blinding and revisions.
"""

from typing import Any, Protocol

# Seconds of focused time one report may add (the screens report every few seconds).
MAX_ACTIVE_DELTA = 600.0


class ActiveTimeError(ValueError):
    """A focused-time report that is refused (not a number, or out of range)."""


def active_seconds_delta(value: Any, *, refuse_out_of_range: bool) -> float:
    """The focused seconds one report adds, from 0 to MAX_ACTIVE_DELTA.

    Out of range (NaN included) it is refused with ActiveTimeError where
    `refuse_out_of_range` (reader studies: timing is a measured outcome), else clamped into
    the range (labelling: timing is only reported). A value that is not a number raises
    ActiveTimeError when refusing, else float()'s own TypeError or ValueError.
    """
    if not refuse_out_of_range:
        return max(0.0, min(float(value or 0), MAX_ACTIVE_DELTA))
    try:
        delta = float(value or 0)
    except (TypeError, ValueError):
        raise ActiveTimeError("active_seconds_delta must be a number of seconds") from None
    if not 0 <= delta <= MAX_ACTIVE_DELTA:  # also refuses NaN
        raise ActiveTimeError(f"active_seconds_delta must be 0 to {MAX_ACTIVE_DELTA:g} seconds")
    return delta


class ReadingScreen(Protocol):
    """The steps a reading screen's flow module provides (as keyword-only functions):
    `next`, `autosave`, `submit` (returning the case and whether it changed) and `previous`.
    Labelling: label_next_with_progress, label_autosave, label_submit, label_previous.
    Reading: reading_next, reading_autosave, reading_submit, reading_previous."""

    def next(self, **kwargs: Any) -> Any: ...

    def autosave(self, **kwargs: Any) -> Any: ...

    def submit(self, **kwargs: Any) -> tuple[Any, bool]: ...

    def previous(self, **kwargs: Any) -> Any: ...
