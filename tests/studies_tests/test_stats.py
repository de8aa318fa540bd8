"""The Django-free statistics core (studies.stats): published values and invariants.

No database: runs with `pytest tests/studies_tests -p no:django --noconftest` as well.
"""

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from studies.stats import (
    PilotComponents,
    StatsInputError,
    auc,
    auc_ci,
    binary_metrics,
    category_counts,
    cohen_kappa,
    cohen_kappa_table,
    delong_covariance,
    delong_variance,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    mean_t_interval,
    mrmc_analysis,
    mrmc_from_long,
    or_power,
    power_table,
    proportion_ci,
    roc_curve,
    sample_size_table,
    structural_components,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mrmc"


def load_rows(name: str) -> list[dict[str, str]]:
    path = REFERENCE / f"{name}.csv"
    if not path.is_file():  # the reference data are required, never skipped
        raise FileNotFoundError(f"reference data missing: {path}")
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def load_array(name: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    rows = load_rows(name)
    modalities = sorted({r["modality"] for r in rows}, key=int)
    readers = sorted({r["reader"] for r in rows}, key=int)
    cases = sorted({r["case"] for r in rows}, key=int)
    ratings = np.full((len(modalities), len(readers), len(cases)), np.nan)
    truth = np.zeros(len(cases), dtype=int)
    for r in rows:
        c = cases.index(r["case"])
        ratings[modalities.index(r["modality"]), readers.index(r["reader"]), c] = float(r["rating"])
        truth[c] = int(r["truth"])
    assert np.isfinite(ratings).all()
    return truth, ratings, modalities, readers


# --- proportions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high", "tolerance"),
    [
        # Closed forms: x = 0 -> upper 1 - (alpha/2)^(1/n); x = n -> lower (alpha/2)^(1/n);
        # x = 1 -> lower 1 - (1 - alpha/2)^(1/n).
        (0, 10, 0.0, 1 - 0.025 ** (1 / 10), 1e-12),
        (10, 10, 0.025 ** (1 / 10), 1.0, 1e-12),
        (1, 20, 1 - 0.975 ** (1 / 20), 0.2487, 5e-5),
        # The textbook 5/10 interval, (0.187, 0.813), to the 4 digits tables print.
        (5, 10, 0.1871, 0.8129, 5e-5),
    ],
)
def test_clopper_pearson_known_values(successes, n, low, high, tolerance):
    result = proportion_ci(successes, n)
    assert result.estimate == successes / n
    assert result.ci_low == pytest.approx(low, abs=tolerance)
    assert result.ci_high == pytest.approx(high, abs=tolerance)
    exact = stats.binomtest(successes, n).proportion_ci(method="exact")
    assert (result.ci_low, result.ci_high) == pytest.approx((exact.low, exact.high), abs=1e-12)


def test_clopper_pearson_closed_forms_and_edges():
    # x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n).
    assert proportion_ci(0, 7).ci_high == pytest.approx(1 - 0.025 ** (1 / 7))
    assert proportion_ci(7, 7).ci_low == pytest.approx(0.025 ** (1 / 7))
    assert proportion_ci(3, 9, level=0.9).ci_low < proportion_ci(3, 9, level=0.95).ci_high
    assert proportion_ci(0, 0).as_dict() == {"estimate": None, "ci_low": None, "ci_high": None}
    with pytest.raises(StatsInputError):
        proportion_ci(11, 10)
    with pytest.raises(StatsInputError):
        proportion_ci(1, 10, level=1.0)


def test_binary_metrics_hand_counts():
    # TP 40, FN 10, TN 45, FP 5.
    truth = [1] * 50 + [0] * 50
    decision = [1] * 40 + [0] * 10 + [0] * 45 + [1] * 5
    m = binary_metrics(truth, decision)
    assert (m["tp"], m["fn"], m["tn"], m["fp"], m["n"]) == (40, 10, 45, 5, 100)
    assert m["accuracy"].estimate == pytest.approx(0.85)
    assert m["sensitivity"].estimate == pytest.approx(0.8)
    assert m["specificity"].estimate == pytest.approx(0.9)
    assert m["ppv"].estimate == pytest.approx(40 / 45)
    assert m["npv"].estimate == pytest.approx(45 / 55)
    assert m["f1"] == pytest.approx(80 / 95)
    assert m["kappa"].estimate == pytest.approx(0.7)  # p_o 0.85, p_e 0.5
    assert m["sensitivity"].as_dict() == proportion_ci(40, 50).as_dict()
    assert m["kappa"].ci_low < 0.7 < m["kappa"].ci_high
    none_positive = binary_metrics([0, 0, 0], [0, 0, 0])
    assert none_positive["sensitivity"].estimate is None
    assert none_positive["ppv"].estimate is None
    assert none_positive["f1"] is None
    with pytest.raises(StatsInputError, match="only 0 and 1"):
        binary_metrics([0, 2], [0, 1])


def test_mean_t_interval():
    result = mean_t_interval([1, 2, 3, 4, 5])
    half = stats.t.ppf(0.975, 4) * math.sqrt(2.5 / 5)
    assert result.estimate == 3
    assert (result.ci_low, result.ci_high) == pytest.approx((3 - half, 3 + half))
    assert result.ci_high - result.ci_low == pytest.approx(2 * 1.9632, abs=1e-4)
    assert mean_t_interval([0.7]).as_dict() == {"estimate": 0.7, "ci_low": None, "ci_high": None}
    assert mean_t_interval([]).estimate is None


# --- agreement ---------------------------------------------------------------------------


def _delta_method_kappa_variance(table: np.ndarray) -> float:
    """Multinomial delta method, numerically: the definition FCE (1969) is a closed form of."""
    n = table.sum()
    p = (table / n).ravel()

    def kappa(q: np.ndarray) -> float:
        q = q.reshape(table.shape)
        p_o, p_e = np.trace(q), q.sum(axis=1) @ q.sum(axis=0)
        return (p_o - p_e) / (1 - p_e)

    step = 1e-7
    gradient = np.array(
        [(kappa(p + step * e) - kappa(p - step * e)) / (2 * step) for e in np.eye(p.size)]
    )
    return float(gradient @ (np.diag(p) - np.outer(p, p)) @ gradient / n)


def test_cohen_kappa_textbook_tables():
    # Wikipedia "Cohen's kappa" example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    assert cohen_kappa_table([[20, 5], [10, 15]]).kappa == pytest.approx(0.4)
    # Fleiss, Levin & Paik (2003) Table 18.1: p_o = 0.89, p_e = 0.66, kappa = 0.23/0.34.
    table = np.array([[75, 1, 4], [5, 4, 1], [0, 0, 10]])
    result = cohen_kappa_table(table)
    assert result.observed_agreement == pytest.approx(0.89)
    assert result.expected_agreement == pytest.approx(0.66)
    assert result.kappa == pytest.approx(0.23 / 0.34)
    assert result.se**2 == pytest.approx(_delta_method_kappa_variance(table), rel=1e-5)
    assert result.ci_low == pytest.approx(result.kappa - 1.959964 * result.se, abs=1e-6)


def test_cohen_kappa_from_labels():
    a = ["adnexal", "adnexal", "other", "other", "adnexal", "other"]
    b = ["adnexal", "other", "other", "other", "adnexal", "adnexal"]
    from_labels = cohen_kappa(a, b)
    assert from_labels.kappa == pytest.approx(cohen_kappa_table([[2, 1], [1, 2]]).kappa)
    assert from_labels.n == 6
    assert cohen_kappa(["x", "x"], ["x", "x"]).kappa is None  # p_e = 1: undefined
    with pytest.raises(StatsInputError):
        cohen_kappa(["x"], ["x", "y"])


FLEISS_WIKIPEDIA = [  # Wikipedia "Fleiss' kappa" worked example: 10 items, 14 raters
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_wikipedia_example():
    result = fleiss_kappa(FLEISS_WIKIPEDIA)
    assert result.observed_agreement == pytest.approx(0.378, abs=5e-4)
    assert result.expected_agreement == pytest.approx(0.213, abs=5e-4)
    assert result.kappa == pytest.approx(0.210, abs=5e-4)
    assert result.se_null is not None and result.p_value is not None


def test_fleiss_kappa_varying_raters_by_hand():
    # n_i = 2, 3, 2: P_i = 1, 1, 0 -> P_bar 2/3; p = (3/7, 4/7) -> P_e 25/49; kappa = 23/72.
    result = fleiss_kappa([[2, 0], [0, 3], [1, 1], [1, 0]])  # the last item has one rating
    assert result.items == 3
    assert result.kappa == pytest.approx(23 / 72)
    assert result.se_null is None


def test_krippendorff_alpha_published_example():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", 4 observers x 12 units,
    # nominal data with missing values: alpha = 0.743.
    n = None
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert krippendorff_alpha_nominal(data) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha_nominal([[1, 1], [1, 1]]) is None  # no expected disagreement


def test_krippendorff_alpha_matches_fleiss_without_missing():
    # With m raters on every unit: 1 - alpha = (n - 1)/n (1 - kappa_Fleiss), n = units * m.
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=(4, 25)).tolist()
    counts, _ = category_counts(list(zip(*labels, strict=True)))
    kappa = fleiss_kappa(counts).kappa
    n = 4 * 25
    assert 1 - krippendorff_alpha_nominal(labels) == pytest.approx((n - 1) / n * (1 - kappa))


# --- ROC ---------------------------------------------------------------------------------

HAND_TRUTH = [1, 1, 1, 0, 0, 0, 0]
HAND_SCORES = [0.9, 0.8, 0.4, 0.7, 0.4, 0.3, 0.1]


def test_delong_variance_hand_example():
    # psi rows (diseased 0.9, 0.8, 0.4 vs 0.7, 0.4, 0.3, 0.1): V10 = 1, 1, 5/8 -> AUC = 7/8;
    # V01 = 2/3, 5/6, 1, 1. S10 = 3/64, S01 = 11/432; Var = S10/3 + S01/4 = 19/864.
    assert auc(HAND_TRUTH, HAND_SCORES) == pytest.approx(7 / 8)
    components = structural_components(HAND_TRUTH, HAND_SCORES)
    assert components.v10[0] == pytest.approx([1, 1, 5 / 8])
    assert components.v01[0] == pytest.approx([2 / 3, 5 / 6, 1, 1])
    assert delong_variance(HAND_TRUTH, HAND_SCORES) == pytest.approx(19 / 864)
    ci = auc_ci(HAND_TRUTH, HAND_SCORES)
    assert ci.ci_low < 7 / 8 < ci.ci_high < 1
    plain = auc_ci(HAND_TRUTH, HAND_SCORES, method="plain")
    assert plain.ci_low == pytest.approx(7 / 8 - 1.959964 * math.sqrt(19 / 864), abs=1e-6)


def test_auc_and_delong_match_brute_force():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 60)
    scores = rng.integers(1, 6, size=(3, 60)) + truth  # 5-point ratings with many ties
    x, y = scores[:, truth == 1], scores[:, truth == 0]
    psi = (x[:, :, None] > y[:, None, :]) + 0.5 * (x[:, :, None] == y[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    expected = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    assert delong_covariance(truth, scores) == pytest.approx(expected)
    for k in range(3):
        assert auc(truth, scores[k]) == pytest.approx(psi[k].mean())
        assert auc(truth, scores[k]) == pytest.approx(
            stats.mannwhitneyu(x[k], y[k]).statistic / (x.shape[1] * y.shape[1])
        )


def test_roc_curve_trapezoid_is_auc():
    rng = np.random.default_rng(11)
    truth = rng.integers(0, 2, 80)
    scores = np.round(rng.normal(truth, 1.0), 1)
    fpr, tpr, thresholds = roc_curve(truth, scores)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thresholds[0] == np.inf and np.all(np.diff(thresholds[1:]) < 0)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(auc(truth, scores))
    with pytest.raises(StatsInputError, match="both diseased"):
        auc([1, 1], [0.2, 0.3])


# --- MRMC: Van Dyke (README values, OR-DBM MRMC 2.51 and MRMCaov) ------------------------

VAN_DYKE_AUC = {
    "1": [0.91964573, 0.85877617, 0.90386473, 0.97310789, 0.82979066],
    "2": [0.94782609, 0.90531401, 0.92173913, 0.99935588, 0.92995169],
}


def test_van_dyke_jackknife_reproduces_or_dbm_mrmc():
    truth, ratings, modalities, readers = load_array("vandyke")
    result = mrmc_analysis(truth, ratings, modalities, readers, reference="1")
    for i, modality in enumerate(modalities):
        assert result.figures_of_merit[i] == pytest.approx(VAN_DYKE_AUC[modality], abs=5e-9)
    assert result.reader_means == pytest.approx({"1": 0.89703704, "2": 0.94083736}, abs=5e-9)
    assert result.var == pytest.approx(0.00080229, abs=5e-9)
    assert result.cov1 == pytest.approx(0.00034661, abs=5e-9)
    assert result.cov2 == pytest.approx(0.00034407, abs=5e-9)
    assert result.cov3 == pytest.approx(0.00023903, abs=5e-9)
    assert result.ms_t == pytest.approx(0.00479617, abs=5e-9)
    assert result.ms_tr == pytest.approx(0.00055103, abs=5e-9)
    rrrc, frrc, rrfc = result.rrrc, result.frrc, result.rrfc
    assert rrrc.difference == pytest.approx(0.04380032, abs=5e-9)
    assert rrrc.statistic == pytest.approx(4.46, abs=5e-3)
    assert (rrrc.df_numerator, rrrc.df_denominator) == (1, pytest.approx(15.26, abs=5e-3))
    assert rrrc.p_value == pytest.approx(0.0517, abs=5e-5)
    assert (rrrc.ci_low, rrrc.ci_high) == pytest.approx((-0.00036, 0.08796), abs=5e-6)
    assert frrc.statistic == pytest.approx(5.47595, abs=5e-6)
    assert frrc.df_denominator is None
    assert frrc.p_value == pytest.approx(0.0193, abs=5e-5)
    assert (frrc.ci_low, frrc.ci_high) == pytest.approx((0.00711, 0.08049), abs=5e-6)
    assert rrfc.statistic == pytest.approx(8.70, abs=5e-3)
    assert (rrfc.df_numerator, rrfc.df_denominator) == (1, 4)
    assert rrfc.p_value == pytest.approx(0.0420, abs=5e-5)
    assert (rrfc.ci_low, rrfc.ci_high) == pytest.approx((0.00258, 0.08502), abs=5e-6)


def test_van_dyke_delong_reproduces_mrmcaov():
    truth, ratings, modalities, readers = load_array("vandyke")
    result = mrmc_analysis(truth, ratings, modalities, readers, covariance="delong")
    assert result.var == pytest.approx(0.0007921325, abs=5e-11)
    assert result.cov1 == pytest.approx(0.0003420090, abs=5e-11)
    assert result.cov2 == pytest.approx(0.0003395265, abs=5e-11)
    assert result.cov3 == pytest.approx(0.0002358497, abs=5e-11)
    rrrc = result.rrrc
    assert rrrc.statistic == pytest.approx(4.484854, abs=5e-7)
    assert rrrc.df_denominator == pytest.approx(15.06611, abs=5e-6)
    assert rrrc.p_value == pytest.approx(0.05123303, abs=5e-9)
    # MRMCaov prints (-0.0878671960, 0.0002665519) for 1 - 2; ours is 2 - 1.
    assert rrrc.ci_low == pytest.approx(-0.0002665519, abs=5e-11)
    assert rrrc.ci_high == pytest.approx(0.0878671960, abs=5e-11)


def test_reference_flips_the_difference():
    truth, ratings, modalities, readers = load_array("vandyke")
    one = mrmc_analysis(truth, ratings, modalities, readers, reference="1").rrrc
    two = mrmc_analysis(truth, ratings, modalities, readers, reference="2").rrrc
    assert two.difference == pytest.approx(-one.difference)
    assert (two.ci_low, two.ci_high) == pytest.approx((-one.ci_high, -one.ci_low))
    assert two.p_value == pytest.approx(one.p_value)


# --- MRMC: Franken (Cov2 < Cov3, so max(Cov2 - Cov3, 0) = 0) ------------------------------


def test_franken_zero_reader_covariance_term():
    truth, ratings, modalities, readers = load_array("franken")
    result = mrmc_analysis(truth, ratings, modalities, readers)
    r = len(readers)
    assert result.cov2 < result.cov3  # the case this data set exercises
    # The error term falls back to MS(TR): RRRC becomes RRFC, with ddf_H = (t-1)(r-1) = 3.
    assert result.rrrc.error_term == pytest.approx(result.ms_tr)
    assert result.rrrc.df_denominator == pytest.approx(r - 1)
    assert result.rrrc.statistic == pytest.approx(result.rrfc.statistic)
    assert result.frrc.error_term == pytest.approx(result.var - result.cov1)
    values = json.dumps(result.as_dict(), allow_nan=False)  # everything finite and JSON-able
    assert "rrrc" in values
    # Published by RJafroc (Chakraborty, St(dataset03, FOM = "Wilcoxon", method = "OR")).
    foms = [
        [0.8534600, 0.8649932, 0.8573044, 0.8152420],
        [0.8496156, 0.8435097, 0.8401176, 0.8143374],
    ]
    assert result.figures_of_merit == pytest.approx(np.array(foms), abs=5e-8)
    assert result.var == pytest.approx(1.525776e-03, abs=5e-10)
    assert result.cov1 == pytest.approx(7.916821e-04, abs=5e-11)
    assert result.cov2 == pytest.approx(4.836377e-04, abs=5e-11)
    assert result.cov3 == pytest.approx(5.125091e-04, abs=5e-11)
    assert result.ms_t == pytest.approx(2.356541e-04, abs=5e-11)
    assert result.ms_tr == pytest.approx(5.020264e-05, abs=5e-12)
    assert result.rrrc.statistic == pytest.approx(4.694058, abs=5e-7)
    assert result.rrrc.p_value == pytest.approx(0.1188379, abs=5e-8)
    # RJafroc prints TREAT1 - TREAT2 = 0.01085482, CI (-0.005089627, 0.02679926).
    assert result.rrrc.difference == pytest.approx(-0.01085482, abs=5e-9)
    assert result.rrrc.ci_low == pytest.approx(-0.02679926, abs=5e-9)
    assert result.rrrc.ci_high == pytest.approx(0.005089627, abs=5e-10)


def test_more_than_two_modalities_pairwise_equals_two_modality_analysis():
    truth, ratings, modalities, readers = load_array("vandyke")
    rng = np.random.default_rng(5)
    third = ratings[1] + rng.integers(-1, 2, size=ratings[1].shape)
    three = np.concatenate([ratings, third[None]], axis=0)
    result = mrmc_analysis(truth, three, ["1", "2", "3"], readers)
    assert result.rrrc.difference is None and result.rrrc.df_numerator == 2
    assert 0 <= result.rrrc.p_value <= 1 and 0 <= result.frrc.p_value <= 1
    pair = mrmc_analysis(truth, ratings, modalities, readers)
    assert set(result.comparisons) == {"2", "3"}
    assert result.comparisons["2"]["rrrc"].as_dict() == pytest.approx(pair.rrrc.as_dict())
    assert result.comparisons["2"]["frrc"].as_dict() == pytest.approx(pair.frrc.as_dict())
    json.dumps(result.as_dict(), allow_nan=False)


def test_sensitivity_jackknife_over_all_cases():
    truth, ratings, modalities, readers = load_array("vandyke")
    decisions = (ratings >= 3).astype(float)
    result = mrmc_analysis(truth, decisions, modalities, readers, metric="sensitivity")
    c, m = truth.size, int(truth.sum())
    p = decisions[:, :, truth == 1].mean(axis=2)
    assert result.figures_of_merit == pytest.approx(p)
    jackknife = (c - 1) / c * m * p * (1 - p) / (m - 1) ** 2
    assert result.var == pytest.approx(jackknife.mean())
    delong = mrmc_analysis(
        truth, decisions, modalities, readers, metric="specificity", covariance="delong"
    )
    q = 1 - decisions[:, :, truth == 0].mean(axis=2)
    n = c - m
    assert delong.var == pytest.approx((q * (1 - q) / (n - 1)).mean())
    with pytest.raises(StatsInputError, match="0/1 decisions"):
        mrmc_analysis(truth, ratings, modalities, readers, metric="sensitivity")


# --- long format -------------------------------------------------------------------------


def test_mrmc_from_long_matches_array_analysis_and_is_json():
    rows = load_rows("vandyke")
    for row in rows:
        row["decision"] = int(float(row["rating"]) >= 3)
    result = mrmc_from_long(rows, reference="1")
    json.dumps(result, allow_nan=False)
    assert result["modalities"] == ["1", "2"] and result["readers"] == ["1", "2", "3", "4", "5"]
    assert (result["cases"], result["diseased"]) == (114, 45)
    auc_result = result["auc"]
    assert auc_result["reader_means"]["2"] == pytest.approx(0.94083736, abs=5e-9)
    assert auc_result["rrrc"]["difference"] == pytest.approx(0.04380032, abs=5e-9)
    assert auc_result["rrrc"]["df_denominator"] == pytest.approx(15.26, abs=5e-3)
    assert "df_denominator" not in auc_result["frrc"]
    for key in ("difference", "ci_low", "ci_high", "statistic", "p_value"):
        for analysis in ("rrrc", "frrc", "rrfc"):
            assert isinstance(auc_result[analysis][key], float)
    assert set(result) >= {"auc", "sensitivity", "specificity"}
    assert 0 < result["sensitivity"]["reader_means"]["1"] <= 1
    no_decisions = mrmc_from_long(load_rows("vandyke"), covariance="delong")
    assert "sensitivity" not in no_decisions
    assert no_decisions["auc"]["var"] == pytest.approx(0.0007921325, abs=5e-11)


def small_rows() -> list[dict]:
    rows = []
    for modality, reader, case in itertools.product(["without", "with"], ["a", "b"], range(6)):
        rows.append(
            {
                "reader": reader,
                "case": f"c{case}",
                "modality": modality,
                "truth": int(case < 3),
                "rating": float((case * 7 + len(reader + modality)) % 5),
            }
        )
    return rows


def test_mrmc_from_long_small_design_runs():
    result = mrmc_from_long(small_rows(), reference="without")
    assert result["reference"] == "without"
    assert set(result["auc"]["reader_means"]) == {"with", "without"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[3].pop("rating"), r"missing required columns.*row 3: rating"),
        (
            lambda rows: rows.pop(5),
            r"not full factorial.*reader a did not read case c5 in "
            r"modality without",
        ),
        (lambda rows: rows[13].update(truth=0), r"truth differs.*case c1"),
        (lambda rows: rows[2].update(rating="high"), r"rating is not a finite number.*'high'"),
        (lambda rows: rows.append(dict(rows[0])), r"duplicate reading.*reader a, case c0"),
        (lambda rows: rows[0].update(truth=2), r"truth is not 0/1"),
        (lambda rows: rows[0].update(decision=1), r"decision is given in some rows"),
    ],
)
def test_mrmc_from_long_input_errors(change, message):
    rows = small_rows()
    change(rows)
    with pytest.raises(StatsInputError, match=message):
        mrmc_from_long(rows)


def test_mrmc_from_long_lists_only_the_first_few_problems():
    rows = [row for row in small_rows() if row["reader"] != "b" or row["modality"] != "with"]
    with pytest.raises(StatsInputError, match=r"\(6 in all\)") as error:
        mrmc_from_long(rows)
    assert str(error.value).count("did not read") == 5


# --- power -------------------------------------------------------------------------------


def van_dyke_pilot():
    truth, ratings, modalities, readers = load_array("vandyke")
    result = mrmc_analysis(truth, ratings, modalities, readers)
    return PilotComponents.from_result(result), result.rrrc.difference


def test_power_reproduces_rjafroc_van_dyke_example():
    # Chakraborty, "ROC sample size using RJafroc", Van Dyke pilot, observed effect 0.0438:
    # J = 6, K = 112 -> power 0.5555789, ncp 4.8, ddf 23.1; 80% power: J 4/5/6/10 ->
    # K 1089/344/251/163 (power 0.8015625 at J = 10); 90% at J = 10 -> K 236 (0.9003501);
    # FRRC J = 10 -> 133 (0.8011167); RRFC J = 10 -> 53 (0.8049666); J = 3 never gets there.
    pilot, effect = van_dyke_pilot()
    single = or_power(effect=effect, readers=6, cases=112, pilot=pilot)
    assert single["power"] == pytest.approx(0.5555789, abs=5e-8)
    assert single["ncp"] == pytest.approx(4.8, abs=0.05)
    assert single["df_denominator"] == pytest.approx(23.1, abs=0.05)
    table = sample_size_table(effect=effect, pilot=pilot, readers=[3, 4, 5, 6, 10])
    assert [row["cases"] for row in table] == [None, 1089, 344, 251, 163]
    assert table[-1]["power"] == pytest.approx(0.8015625, abs=5e-8)
    (ninety,) = sample_size_table(effect=effect, pilot=pilot, readers=[10], target_power=0.9)
    assert (ninety["cases"], ninety["power"]) == (236, pytest.approx(0.9003501, abs=5e-8))
    (frrc,) = sample_size_table(effect=effect, pilot=pilot, readers=[10], analysis="frrc")
    assert (frrc["cases"], frrc["power"]) == (133, pytest.approx(0.8011167, abs=5e-8))
    (rrfc,) = sample_size_table(effect=effect, pilot=pilot, readers=[10], analysis="rrfc")
    assert (rrfc["cases"], rrfc["power"]) == (53, pytest.approx(0.8049666, abs=5e-8))


def test_power_table_monotone_and_alpha_at_zero_effect():
    pilot, _ = van_dyke_pilot()
    readers, cases = [4, 6, 8, 12], [100, 200, 400, 800]
    table = power_table(effect=0.05, pilot=pilot, readers=readers, cases=cases)
    grid = np.array([row["power"] for row in table]).reshape(len(readers), len(cases))
    assert np.all(np.diff(grid, axis=0) > 0) and np.all(np.diff(grid, axis=1) > 0)
    assert all(row["reaches_target"] == (row["power"] >= 0.8) for row in table)
    json.dumps(table, allow_nan=False)
    for analysis in ("rrrc", "frrc", "rrfc"):
        null = or_power(effect=0.0, readers=6, cases=300, pilot=pilot, analysis=analysis)
        assert null["power"] == pytest.approx(0.05)
        tiny = or_power(effect=1e-4, readers=6, cases=300, pilot=pilot, analysis=analysis)
        assert tiny["power"] == pytest.approx(0.05, abs=1e-3)


def test_identical_modalities_give_undefined_tests_not_nan():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    ratings = np.tile(np.array([5, 4, 3, 2, 1, 3, 2, 4.0]), (2, 3, 1))  # MS(T) = MS(TR) = 0
    result = mrmc_analysis(truth, ratings).as_dict()
    json.dumps(result, allow_nan=False)
    assert result["rrrc"]["difference"] == 0
    assert result["rrrc"]["statistic"] is None and result["rrrc"]["ci_low"] is None
    assert "df_denominator" in result["rrrc"] and "df_denominator" not in result["frrc"]
