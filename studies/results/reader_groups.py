"""Subgroups of a study's readers for the subgroup results: by specialty and by experience.

`reader_subgroups(profiles, readers)` sorts the analysed readers into the subgroups of each
grouping; `studies.results` pools each subgroup's readers exactly as it pools all readers.

- `specialty`: one subgroup per recorded specialty, in alphabetical order of its label.
- `experience`: the bands of EXPERIENCE_BANDS, in that order, in whole years with both
  ends included: under 5 years (0-4), 5-10 years (5 to 10), over 10 years (11 and more).

In each grouping, readers without a recorded specialty (or years) form a last subgroup,
NOT_RECORDED. Only subgroups with readers are listed. docs/reader_study_results.md
describes the document part (`subgroups`).
"""

from __future__ import annotations

from collections import defaultdict

from studies.results.sources import ReaderProfile

# (key, label, lowest, highest years); highest None: no upper end.
EXPERIENCE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("under_5", "under 5 years", 0, 4),
    ("5_to_10", "5–10 years", 5, 10),
    ("over_10", "over 10 years", 11, None),
)
NOT_RECORDED = ("not_recorded", "not recorded")
ONE_READER = (
    "one reader: the values are that reader's own, without an interval "
    "(a t-interval across readers needs at least two)"
)

Subgroup = tuple[str, str, list[str]]  # (key, label, readers)


def experience_band(years: int | None) -> tuple[str, str]:
    """The (key, label) of the experience band of `years`, or NOT_RECORDED for None."""
    if years is None:
        return NOT_RECORDED
    for key, label, low, high in EXPERIENCE_BANDS:
        if years >= low and (high is None or years <= high):
            return key, label
    raise ValueError(f"years of experience must be 0 or more, got {years}")


def reader_subgroups(
    profiles: dict[str, ReaderProfile], readers: list[str]
) -> dict[str, list[Subgroup]]:
    """Per grouping (`specialty`, `experience`), its subgroups; readers keep their order.

    A reader missing from `profiles` counts as having nothing recorded.
    """
    by_specialty: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_experience: dict[tuple[str, str], list[str]] = defaultdict(list)
    for reader in readers:
        profile = profiles.get(reader, ReaderProfile())
        specialty = (profile.specialty, profile.specialty_label) if profile.specialty else None
        by_specialty[specialty or NOT_RECORDED].append(reader)
        by_experience[experience_band(profile.experience_years)].append(reader)
    band_order = [(key, label) for key, label, *_ in EXPERIENCE_BANDS] + [NOT_RECORDED]
    specialties = sorted(by_specialty.items(), key=lambda g: (g[0] == NOT_RECORDED, g[0][1]))
    bands = sorted(by_experience.items(), key=lambda g: band_order.index(g[0]))
    return {
        "specialty": [(key, label, members) for (key, label), members in specialties],
        "experience": [(key, label, members) for (key, label), members in bands],
    }
