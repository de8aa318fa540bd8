"""Speed of the MRMC analysis at the size of the method's reader study.

    python benchmarks/mrmc_speed.py [--repeats 20]

Simulates 6 readers x 2 modalities x 437 cases (80 diseased) of 5-point-like ratings with a
seeded RNG, then measures in the same run (best of --repeats):
- baseline: the 12 per-reader AUCs, one `auc` call each;
- the full Obuchowski-Rockette analysis (AUCs, covariance, RRRC/FRRC/RRFC) with jackknife
  and with DeLong covariance;
and prints each time and its ratio to the baseline. Target: under 1 s in total.
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studies.stats import auc, mrmc_analysis  # noqa: E402 - after the path is set


def simulate(seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cases, diseased, readers = 437, 80, 6
    truth = np.zeros(cases, dtype=int)
    truth[rng.choice(cases, diseased, replace=False)] = 1
    case_effect = rng.normal(0, 1, cases)
    separation = np.array([1.6, 2.0])[:, None, None]  # the aided modality separates better
    reader_effect = rng.normal(0, 0.2, (1, readers, 1))
    latent = (
        separation * truth + case_effect + reader_effect + rng.normal(0, 0.7, (2, readers, cases))
    )
    ratings = np.digitize(latent, [0.0, 0.8, 1.6, 2.4]) + 1.0  # 5-point scale, many ties
    return truth, ratings


def best_time(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    truth, ratings = simulate()
    modalities, readers = ["without AI", "with AI"], [f"reader {j + 1}" for j in range(6)]

    def baseline() -> None:
        for i in range(2):
            for j in range(6):
                auc(truth, ratings[i, j])

    def analysis(covariance: str) -> Callable[[], object]:
        return lambda: mrmc_analysis(
            truth, ratings, modalities, readers, covariance=covariance, reference="without AI"
        )

    base = best_time(baseline, args.repeats)
    jackknife = best_time(analysis("jackknife"), args.repeats)
    delong = best_time(analysis("delong"), args.repeats)
    result = analysis("jackknife")()
    print("MRMC: 6 readers x 2 modalities x 437 cases (80 diseased), seeded simulation")
    print(f"AUC difference {result.rrrc.difference:+.4f}, RRRC p {result.rrrc.p_value:.4g}")
    print(f"baseline, 12 per-reader AUCs   {base * 1e3:8.2f} ms   1.00x")
    print(f"OR analysis, jackknife          {jackknife * 1e3:8.2f} ms  {jackknife / base:5.2f}x")
    print(f"OR analysis, DeLong             {delong * 1e3:8.2f} ms  {delong / base:5.2f}x")
    total = jackknife + delong
    print(f"both analyses                   {total * 1e3:8.2f} ms  (target < 1000 ms)")


if __name__ == "__main__":
    main()
