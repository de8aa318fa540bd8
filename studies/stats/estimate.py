"""An estimate with its confidence interval, and the check of a confidence level: shared by
every statistics module (so none of them imports another for it)."""

from __future__ import annotations

from dataclasses import dataclass

from studies.stats.errors import StatsInputError


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval; None where undefined."""

    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high}


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise StatsInputError(f"confidence level must lie strictly between 0 and 1, got {level}")
