"""The rules labelling and reader-study reading share (base.reading_flow), and the one
definition of a labelling set's active readers that the SQL is derived from."""

import math

import pytest

from annotation.labelling import sql as labelling_sql
from base.reading_flow import (
    MAX_ACTIVE_DELTA,
    ActiveTimeError,
    ReadingEngine,
    Refusal,
    active_seconds_delta,
)
from studies.reading import flow as reading_flow


def test_the_active_time_cap_clamps_for_labelling_and_refuses_for_reading():
    assert MAX_ACTIVE_DELTA == 600
    assert active_seconds_delta(900, refuse_out_of_range=False) == MAX_ACTIVE_DELTA
    assert active_seconds_delta(-3, refuse_out_of_range=False) == 0
    assert active_seconds_delta(None, refuse_out_of_range=False) == 0
    assert active_seconds_delta(math.nan, refuse_out_of_range=False) == 0
    with pytest.raises(ValueError):
        active_seconds_delta("soon", refuse_out_of_range=False)
    assert active_seconds_delta(12.5, refuse_out_of_range=True) == 12.5
    for refused in (900, -3, math.nan, "soon"):
        with pytest.raises(ActiveTimeError):
            active_seconds_delta(refused, refuse_out_of_range=True)
    # Reading passes the cap on as its own refusal, and the demo still finds it there.
    assert reading_flow.MAX_ACTIVE_DELTA is MAX_ACTIVE_DELTA


@pytest.mark.django_db
def test_the_labelling_sql_counts_active_readers_by_the_one_definition():
    sql, params = labelling_sql._active_readers_sql(42)
    assert params.count(42) == 1 and "active" in sql
    again, _ = labelling_sql._active_readers_sql(43)
    assert again == sql  # compiled once, only the set id changes


class _Case:
    def __init__(self, pk: int, scope: str) -> None:
        self.pk, self.scope = pk, scope


class _Screen(ReadingEngine):
    """A screen of three cases: next hands out the first one not excluded."""

    refusal = LookupError

    def __init__(self, refuse_next: bool = False, keeps: bool = False) -> None:
        self.refuse_next, self.next_refusal_keeps_answer = refuse_next, keeps
        self.calls: list = []

    def next(self, *, scope, reader, exclude=()):
        self.calls.append(("next", scope, exclude))
        if self.refuse_next:
            raise LookupError("taken off")
        return next((pk for pk in (1, 2, 3) if pk not in exclude), None)

    def autosave(self, *, case, reader, answers, active_seconds_delta=0):
        return case

    def submit(self, *, case, reader, answers, active_seconds_delta=0):
        self.calls.append(("submit", case, active_seconds_delta))
        return _Case(case, "set-7"), answers != {}

    def previous(self, *, scope, reader, before):
        return None

    def scope_of(self, case):
        return case.scope


def test_the_engine_submits_then_hands_out_the_next_case_in_one_round_trip():
    screen = _Screen()
    done = screen.submit_then_next(case=1, reader=None, answers={"a": 1}, exclude=(2,))
    assert (done.case.pk, done.changed, done.following, done.next_refused) == (1, True, 3, None)
    # In order; the next skips the case just submitted and those the screen holds.
    assert screen.calls == [("submit", 1, 0), ("next", "set-7", (1, 2))]
    # A scope given is used as is; without want_next there is no next step.
    assert _Screen().submit_then_next(case=1, reader=None, answers={}, scope="s").following == 2
    quiet = _Screen()
    assert (
        quiet.submit_then_next(case=1, reader=None, answers={}, want_next=False).following is None
    )
    assert [call[0] for call in quiet.calls] == ["submit"]


def test_a_refused_next_case_keeps_the_answer_only_where_the_screen_says_so():
    kept = _Screen(refuse_next=True, keeps=True).submit_then_next(case=1, reader=None, answers={})
    assert kept.following is None and str(kept.next_refused) == "taken off"
    with pytest.raises(LookupError):
        _Screen(refuse_next=True).submit_then_next(case=1, reader=None, answers={})


def test_both_screens_run_on_the_engine():
    from annotation.labelling.flow import LABELLING_ENGINE, LabellingError
    from studies.reading.flow import READING_ENGINE, ReadingError

    assert isinstance(LABELLING_ENGINE, ReadingEngine) and isinstance(READING_ENGINE, ReadingEngine)
    assert LABELLING_ENGINE.refusal is LabellingError and LABELLING_ENGINE.next_refusal_keeps_answer
    assert READING_ENGINE.refusal is ReadingError and not READING_ENGINE.next_refusal_keeps_answer
    # One refusal shape: the text is the API's detail, `missing` the unanswered questions.
    for refusal in (LabellingError("x", missing=["a"]), ReadingError("x", missing=["a"])):
        assert (
            isinstance(refusal, Refusal) and refusal.missing == ["a"] and refusal.kind == "invalid"
        )
