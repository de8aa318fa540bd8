"""Labelling shortcuts for tests."""

from annotation.labelling.flow import label_next_with_progress


def label_next(*, annotation_set, reader, exclude: tuple[int, ...] = ()):
    """The reader's next label of the set (the screen's `next`), without the progress."""
    label, _ = label_next_with_progress(
        annotation_set_id=annotation_set.pk, reader=reader, exclude=exclude
    )
    return label
