"""What labelling (annotation.labelling.flow) and reader-study reading (studies.reading.flow)
share: the order of a reading screen's steps (ReadingEngine) and the focused-time rule.

Both screens run the same steps on a "case" (a label of an image; a reader-study case):
`next` hands the reader their first unfinished case (resuming a closed tab) and marks it
shown; `autosave` stores answers as they are made and adds focused time, never half-changing
a submitted answer; `submit` stores the answers once (the same submit again changes nothing)
and the reply carries the next case; `previous` goes back to a submitted case to correct it.
Each screen adds its own rules: labelling its leases, quota and adjudication; reading its
arms, washout, blinding and revisions.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

# Seconds of focused time one report may add (the screens report every few seconds).
MAX_ACTIVE_DELTA = 600.0


class Refusal(ValueError):
    """A request a screen's rules refuse: the text is the API's `detail`; `missing` names the
    unanswered questions; `kind` says how the API answers (invalid 400, unavailable 403,
    conflict 409)."""

    def __init__(
        self, message: str, *, kind: str = "invalid", missing: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.missing = missing or []


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


@dataclass(frozen=True)
class Submitted:
    """What a submit gives: the stored case, whether it changed (false for a repeated submit),
    and the next case when it was asked for; `next_refused` says why none could be given
    where the screen keeps the answer regardless."""

    case: Any
    changed: bool
    following: Any = None
    next_refused: Exception | None = None


class ReadingEngine(ABC):
    """One reading screen's flow: the screen gives the steps, the engine runs them in the
    shared order. `scope` is what the reader works through (a labelling set, a reading
    session); a `case` is one thing they answer (a label, a case reading)."""

    # The screen's refusal, whose text the API passes on as `detail`.
    refusal: type[Exception] = Refusal
    # A next case refused right after a submit: labelling keeps the answer and replies
    # without a next case (the reader was taken off the set meanwhile); reading refuses.
    next_refusal_keeps_answer = False

    @abstractmethod
    def next(self, *, scope: Any, reader, exclude: tuple[int, ...] = ()) -> Any:
        """The reader's first unfinished case of `scope` (resumed), marked shown; None when
        their work is done."""

    @abstractmethod
    def autosave(self, *, case: Any, reader, answers: dict, active_seconds_delta: Any = 0) -> Any:
        """Store the answers as they are made and add focused time."""

    @abstractmethod
    def submit(
        self, *, case: Any, reader, answers: dict, active_seconds_delta: Any = 0
    ) -> tuple[Any, bool]:
        """Store the answers once: (case, changed); the same submit again changes nothing."""

    @abstractmethod
    def previous(self, *, scope: Any, reader, before: Any) -> Any:
        """The submitted case before `before` (or the last), to go back and correct."""

    @abstractmethod
    def scope_of(self, case: Any) -> Any:
        """The scope a stored case belongs to."""

    def submit_then_next(
        self,
        *,
        case: Any,
        reader,
        answers: dict,
        active_seconds_delta: Any = 0,
        scope: Any = None,
        want_next: bool = True,
        exclude: tuple[int, ...] = (),
    ) -> Submitted:
        """Submit, then hand out the next case in the same round trip (not the one just
        submitted, nor those in `exclude`, which the screen already holds)."""
        case, changed = self.submit(
            case=case, reader=reader, answers=answers, active_seconds_delta=active_seconds_delta
        )
        if not want_next:
            return Submitted(case, changed)
        scope = self.scope_of(case) if scope is None else scope
        try:
            following = self.next(scope=scope, reader=reader, exclude=(case.pk, *exclude))
        except self.refusal as error:
            if not self.next_refusal_keeps_answer:
                raise
            return Submitted(case, changed, next_refused=error)
        return Submitted(case, changed, following)
