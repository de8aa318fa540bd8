"""Class imbalance and seeding in the training loop (inference.ml.train), without a database.

Each output's loss weighs a positive as negatives / positives negatives, counted in the
training targets; two runs with the same seed give the same weights and figures.
"""

import math

import pytest
import torch

from inference.ml.train import TrainConfig, _masked_bce, _positive_weight, train_model

NAN = float("nan")


def test_the_positive_weight_is_negatives_over_positives_per_output():
    # Output 0: 2 positives, 4 negatives. Output 1: 1 positive, 3 negatives, 2 unknown.
    targets = torch.tensor([[1, 0], [0, 0], [0, 1], [0, NAN], [1, NAN], [0, 0]])
    config = TrainConfig(arch="resnet18", num_outputs=2, input_size=128)
    weight = _positive_weight(config, targets)
    assert weight.tolist() == [2.0, 3.0]

    # So positives and negatives weigh the same in each output's loss. At logit 0 every answer
    # costs ln 2 times its weight: positives 2 x 2 + 1 x 3, negatives 4 + 3, over 10 known.
    loss = _masked_bce(torch.zeros(6, 2), targets, weight)
    assert float(loss) == pytest.approx((4 + 3 + 4 + 3) * math.log(2) / 10)

    # A weight given in the configuration is used as it is.
    config = TrainConfig(arch="resnet18", num_outputs=2, input_size=128, positive_weight=[1, 5])
    assert _positive_weight(config, targets).tolist() == [1.0, 5.0]


def _imbalanced_data() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (8, 3, 128, 128), dtype=torch.uint8, generator=generator)
    targets = torch.tensor([[1.0], [0.0], [0.0], [0.0]] * 2)  # 2 positives, 6 negatives
    val_targets = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    return images, targets, images[:4], val_targets


def _run(seed: int, positive_weight: list[float] | None = None):
    config = TrainConfig(
        arch="resnet18",
        input_size=128,
        epochs=2,
        batch_size=4,
        seed=seed,
        device="cpu",
        positive_weight=positive_weight,
    )
    return train_model(
        config,
        *_imbalanced_data(),
        evaluate=lambda probabilities: {"score": float(probabilities.mean())},
    )


def _same_weights(first, second) -> bool:
    return first.state_dict.keys() == second.state_dict.keys() and all(
        torch.equal(first.state_dict[name], second.state_dict[name]) for name in first.state_dict
    )


def _figures(result) -> list[tuple[float, float]]:
    return [(entry["loss"], entry["score"]) for entry in result.history]


def test_the_same_seed_gives_the_same_model_and_the_imbalance_weight_enters_training():
    first, again = _run(seed=4), _run(seed=4)
    assert _same_weights(first, again) and first.best_epoch == again.best_epoch
    assert _figures(first) == _figures(again)

    assert not _same_weights(first, _run(seed=5))
    # The computed weight (6 negatives / 2 positives) is what training used: giving 3 by
    # hand changes nothing, giving 1 (no balancing) changes the model.
    assert _same_weights(first, _run(seed=4, positive_weight=[3.0]))
    unbalanced = _run(seed=4, positive_weight=[1.0])
    assert not _same_weights(first, unbalanced)
    assert _figures(first) != _figures(unbalanced)
