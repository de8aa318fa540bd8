import math

import pytest

from inference.scoring import (
    EPSILON,
    choose_threshold,
    combine_scores,
    decision_name,
    ensemble_weights,
    exam_score,
    is_malignant,
    surprise,
    weighted_score,
)


def test_exam_score_of_one_image_at_one_half_is_ln_2():
    assert exam_score([0.5]) == pytest.approx(math.log(2))


def test_exam_score_is_the_mean_negative_log_of_one_minus_p():
    expected = -(math.log(0.8) + math.log(0.5)) / 2
    assert exam_score([0.2, 0.5]) == pytest.approx(expected)


def test_exam_score_of_certain_benign_images_is_zero():
    assert exam_score([0.0, 0.0, 0.0]) == 0.0


def test_one_image_at_p_one_gives_a_finite_score():
    score = exam_score([1.0])
    assert math.isfinite(score)
    assert score == pytest.approx(-math.log(EPSILON))
    # The same image among benign ones still counts, divided by the image count.
    assert exam_score([1.0, 0.0]) == pytest.approx(-math.log(EPSILON) / 2)


def test_one_suspicious_image_outweighs_several_mild_ones():
    assert exam_score([0.95, 0.05, 0.05]) > exam_score([0.4, 0.4, 0.4])


def test_exam_score_refuses_an_exam_without_images():
    with pytest.raises(ValueError, match="at least one"):
        exam_score([])


def test_ensemble_weights_are_the_aucs_share():
    weights = ensemble_weights({"resnet50": 0.9, "darknet19": 0.6})
    assert weights == pytest.approx({"resnet50": 0.6, "darknet19": 0.4})


def test_ensemble_weights_refuse_a_non_positive_auc():
    with pytest.raises(ValueError):
        ensemble_weights({"resnet50": 0.9, "darknet19": 0.0})


def test_combine_scores_weights_each_theta_by_its_auc():
    theta = combine_scores({"resnet50": 2.0, "darknet19": 1.0}, {"resnet50": 0.9, "darknet19": 0.6})
    assert theta == pytest.approx(0.6 * 2.0 + 0.4 * 1.0)


def test_combine_scores_refuses_models_without_an_auc():
    with pytest.raises(ValueError, match="every model"):
        combine_scores({"resnet50": 2.0, "darknet19": 1.0}, {"resnet50": 0.9})


# Seven exams, four malignant. Score >= t is called malignant:
#   t    sensitivity  specificity  J
#   0.9  1/4          3/3          0.25
#   0.8  2/4          3/3          0.50
#   0.7  3/4          3/3          0.75   <- Youden
#   0.6  3/4          2/3          0.417
#   0.3  4/4          2/3          0.667  <- highest threshold with sensitivity 1
#   0.2  4/4          1/3          0.333
#   0.1  4/4          0/3          0
SCORES = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9]
TRUTH = [0, 0, 1, 0, 1, 1, 1]


def test_youden_threshold_maximises_sensitivity_plus_specificity():
    assert choose_threshold(SCORES, TRUTH) == pytest.approx((0.7, 0.75, 1.0))


def test_sensitivity_rule_takes_the_highest_threshold_reaching_the_target():
    assert choose_threshold(
        SCORES, TRUTH, rule="sensitivity", target_sensitivity=1.0
    ) == pytest.approx((0.3, 1.0, 2 / 3))
    assert choose_threshold(
        SCORES, TRUTH, rule="sensitivity", target_sensitivity=0.5
    ) == pytest.approx((0.8, 0.5, 1.0))


def test_youden_tie_goes_to_the_higher_threshold():
    # J is 0.5 at both 0.8 (1/2, 1) and 0.35 (1, 1/2).
    assert choose_threshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx((0.8, 0.5, 1.0))


def test_tied_scores_are_one_threshold():
    assert choose_threshold([0.5, 0.5, 0.2], [1, 0, 0]) == pytest.approx((0.5, 1.0, 0.5))


def test_choose_threshold_refuses_one_class_and_bad_rules():
    with pytest.raises(ValueError, match="both"):
        choose_threshold([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="unknown rule"):
        choose_threshold(SCORES, TRUTH, rule="accuracy")
    with pytest.raises(ValueError, match="target_sensitivity"):
        choose_threshold(SCORES, TRUTH, rule="sensitivity")


def test_surprise_is_clipped_like_the_score_for_a_float_and_an_array():
    assert surprise(0.5) == pytest.approx(math.log(2)) and isinstance(surprise(0.5), float)
    assert surprise(1.0) == pytest.approx(-math.log(EPSILON))  # finite, not infinity
    assert surprise([0.0, 1.0]) == pytest.approx([0.0, -math.log(EPSILON)])
    assert exam_score([0.2, 1.0]) == pytest.approx((surprise(0.2) + surprise(1.0)) / 2)


def test_weighted_score_is_the_ensembles_sum_and_needs_every_model():
    weights = {"resnet": 0.6, "darknet": 0.4}
    assert weighted_score({"resnet": 1.0, "darknet": 2.0}, weights) == pytest.approx(1.4)
    assert combine_scores({"a": 1.0, "b": 2.0}, {"a": 0.6, "b": 0.4}) == weighted_score(
        {"a": 1.0, "b": 2.0}, ensemble_weights({"a": 0.6, "b": 0.4})
    )
    with pytest.raises(ValueError, match="every model needs both"):
        weighted_score({"resnet": 1.0}, weights)


def test_the_decision_is_malignant_at_or_above_the_threshold():
    assert is_malignant(0.7, 0.7) and not is_malignant(0.69, 0.7)
    assert (decision_name(True), decision_name(False)) == ("malignant", "benign")
