"""The `subgroups` part: the pooled metrics within each subgroup of readers."""

from __future__ import annotations

from typing import Any

from studies.results.pooled import _pooled
from studies.results.reader_groups import ONE_READER, reader_subgroups
from studies.results.sources import ReaderProfile


def _subgroups(
    profiles: dict[str, ReaderProfile],
    reader_rows: list[dict[str, Any]],
    readers: list[str],
    modalities: list[str],
    has_decisions: bool,
    has_seconds: bool,
) -> dict[str, list[dict[str, Any]]]:
    """Per grouping (`reader_groups`), each subgroup's readers pooled by `_pooled`."""
    return {
        grouping: [
            {
                "key": key,
                "label": label,
                "readers": members,
                "pooled": _pooled(
                    [row for row in reader_rows if row["reader"] in members],
                    modalities,
                    has_decisions,
                    has_seconds,
                ),
                "note": ONE_READER if len(members) == 1 else None,
            }
            for key, label, members in subgroups
        ]
        for grouping, subgroups in reader_subgroups(profiles, readers).items()
    }
