"""The rules labelling and reader-study reading share (base.reading_flow), and the one
definition of a labelling set's active readers that the SQL is derived from."""

import math

import pytest

from annotation.labelling import sql as labelling_sql
from base.reading_flow import MAX_ACTIVE_DELTA, ActiveTimeError, active_seconds_delta
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
