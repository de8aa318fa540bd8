"""The Django-free ML core: networks, inputs, augmentation, CAMs and training, on CPU."""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from inference.ml.augment import augment_batch, eval_batch
from inference.ml.cam import cam_for_image, cam_overlay, cam_png, normalise_cams, predict_with_cam
from inference.ml.data import letterbox, normalise, stack_inputs, to_input
from inference.ml.networks import (
    ARCHITECTURES,
    CheckpointMismatch,
    build_network,
    check_state_dict,
    forward_with_maps,
    load_checkpoint,
)
from inference.ml.train import TrainConfig, TrainingDataError, predict, train_model


def auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC, ties counted half."""
    truth = truth.ravel().astype(bool)
    positive, negative = scores.ravel()[truth], scores.ravel()[~truth]
    wins = (positive[:, None] > negative[None]).mean()
    return float(wins + 0.5 * (positive[:, None] == negative[None]).mean())


def blob_images(n: int, seed: int, size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy grey images; the first half (positive) carries a bright disc somewhere."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, size, size, generator=generator) * 60 + 40
    rows, columns = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for i in range(n // 2):
        row, column = torch.randint(35, size - 35, (2,), generator=generator).tolist()
        images[i][(rows - row) ** 2 + (columns - column) ** 2 < 14**2] = 230
    targets = torch.zeros(n, 1)
    targets[: n // 2] = 1
    rgb = images.to(torch.uint8)[:, None].expand(n, 3, size, size).contiguous()
    return rgb, targets


# --- networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_network_maps_a_batch_to_one_logit_per_output(arch):
    model = build_network(arch, 3).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 128, 128))
    assert out.shape == (2, 3)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_forward_with_maps_gives_the_same_logits_as_the_model(arch):
    model = build_network(arch, 2).eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        logits, maps = forward_with_maps(model, arch, x)
        assert torch.allclose(logits, model(x), atol=1e-5)
    assert maps.shape[-2:] == (4, 4)  # 128 px / stride 32


def test_darknet19_is_the_original_configuration():
    model = build_network("darknet19", 1)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    activations = [m for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(convs) == 19
    # Every convolution but the final 1x1 class convolution has batch norm and LeakyReLU(0.1).
    assert len(norms) == len(activations) == 18
    assert all(a.negative_slope == 0.1 for a in activations)
    assert len(pools) == 5
    assert [c.out_channels for c in convs[:-1]] == [
        32, 64, 128, 64, 128, 256, 128, 256, 512, 256, 512, 256, 512,
        1024, 512, 1024, 512, 1024,
    ]  # fmt: skip
    kernels = [c.kernel_size[0] for c in convs]
    assert kernels.count(1) == 7 and kernels.count(3) == 12  # with the class convolution
    assert convs[-1].kernel_size == (1, 1) and convs[-1].out_channels == 1


def test_unknown_architecture_names_the_allowed_ones():
    with pytest.raises(ValueError, match="resnet50, resnet18, darknet19"):
        build_network("vgg16", 1)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_check_state_dict_accepts_a_fresh_network(arch):
    check_state_dict(arch, 1, build_network(arch, 1).state_dict())


def test_check_state_dict_refuses_another_architecture():
    with pytest.raises(CheckpointMismatch, match="does not fit resnet50.*missing keys"):
        check_state_dict("resnet50", 1, build_network("resnet18", 1).state_dict())


def test_check_state_dict_refuses_another_class_count():
    with pytest.raises(CheckpointMismatch, match=r"fc.weight \(3, 512\) instead of \(1, 512\)"):
        check_state_dict("resnet18", 1, build_network("resnet18", 3).state_dict())


def test_load_checkpoint_unwraps_common_wrappers(tmp_path):
    state = build_network("resnet18", 1).state_dict()
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    loaded = load_checkpoint(path)
    assert loaded.keys() == state.keys()
    check_state_dict("resnet18", 1, loaded)


def test_load_checkpoint_refuses_what_is_not_a_state_dict(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatch, match="cannot read"):
        load_checkpoint(garbage)
    a_list = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], a_list)
    with pytest.raises(CheckpointMismatch, match="no state dict"):
        load_checkpoint(a_list)


def test_pretrained_weights_load_except_the_head(tmp_path):
    imagenet = build_network("resnet18", 1000)
    path = tmp_path / "imagenet.pt"
    torch.save(imagenet.state_dict(), path)
    model = build_network("resnet18", 1, pretrained_path=str(path))
    assert model.fc.weight.shape == (1, 512)
    assert torch.equal(model.conv1.weight, imagenet.conv1.weight)
    assert torch.equal(model.layer4[1].bn2.running_var, imagenet.layer4[1].bn2.running_var)


def test_pretrained_weights_of_another_network_are_refused(tmp_path):
    path = tmp_path / "darknet.pt"
    torch.save(build_network("darknet19", 1000).state_dict(), path)
    with pytest.raises(CheckpointMismatch, match="pretrained checkpoint darknet.pt"):
        build_network("resnet18", 1, pretrained_path=str(path))


# --- inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(60, 120), (60, 120, 1), (60, 120, 3), (60, 120, 4)], ids=str)
def test_to_input_letterboxes_any_layout_to_three_channels(shape):
    pixels = np.full(shape, 200, dtype=np.uint8)
    tensor = to_input(pixels, 128)
    assert tensor.dtype == torch.uint8 and tensor.shape == (3, 128, 128)
    # 60 x 120 becomes 64 x 128 centred: 32 black rows above and below.
    assert letterbox(60, 120, 128) == (0, 32, 128, 64)
    assert tensor[:, :32].max() == 0 and tensor[:, 96:].max() == 0
    assert (tensor[:, 32:96] == 200).all()


def test_to_input_keeps_colour_and_stretches_other_depths():
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    assert to_input(rgb, 128)[:, 64, 64].tolist() == [255, 0, 0]
    sixteen_bit = np.array([[0, 1000], [2000, 4000]], dtype=np.uint16)
    assert to_input(sixteen_bit, 128).max() == 255


def test_stack_inputs_and_normalise():
    batch = stack_inputs([np.zeros((30, 40), np.uint8), np.full((50, 20), 255, np.uint8)], 128)
    assert batch.shape == (2, 3, 128, 128) and batch.dtype == torch.uint8
    normalised = normalise(batch)
    assert normalised.dtype == torch.float32
    assert normalised[0, 0, 0, 0].item() == pytest.approx(-0.485 / 0.229)
    assert torch.allclose(normalise(batch.float() / 255), normalised)


# --- augmentation -----------------------------------------------------------------------


def test_augment_batch_shape_range_and_determinism():
    batch = torch.randint(0, 256, (6, 3, 160, 160), dtype=torch.uint8)
    first = augment_batch(batch, torch.Generator().manual_seed(7), 128)
    again = augment_batch(batch, torch.Generator().manual_seed(7), 128)
    other = augment_batch(batch, torch.Generator().manual_seed(8), 128)
    assert first.shape == (6, 3, 128, 128) and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_augment_batch_draws_each_sample_its_own_parameters():
    image = torch.randint(0, 256, (1, 3, 128, 128), dtype=torch.uint8)
    out = augment_batch(image.expand(4, 3, 128, 128), torch.Generator().manual_seed(0), 128)
    for i in range(1, 4):
        assert not torch.allclose(out[0], out[i])


def test_eval_batch_only_resizes():
    batch = torch.randint(0, 256, (2, 3, 128, 128), dtype=torch.uint8)
    assert torch.equal(eval_batch(batch, 128), batch.float() / 255)
    resized = eval_batch(batch, 160)
    assert resized.shape == (2, 3, 160, 160)
    assert torch.equal(resized, eval_batch(batch, 160))


# --- class activation maps --------------------------------------------------------------


def test_resnet_cam_is_the_fc_weighted_last_features_of_the_same_pass():
    torch.manual_seed(0)
    model = build_network("resnet18", 2).eval()
    batch = normalise(torch.randint(0, 256, (3, 3, 128, 128), dtype=torch.uint8))
    captured = []
    model.layer4.register_forward_hook(lambda module, args, output: captured.append(output))
    probabilities, cams = predict_with_cam(model, "resnet18", batch, output_index=1)
    assert len(captured) == 1  # one forward pass gave both the probability and the CAM

    with torch.no_grad():
        features = captured[0]
        manual = (features * model.fc.weight[1].view(1, -1, 1, 1)).sum(dim=1, keepdim=True)
        manual = F.interpolate(manual, size=(128, 128), mode="bilinear", align_corners=False)
        low = manual.flatten(1).min(1).values.view(-1, 1, 1)
        high = manual.flatten(1).max(1).values.view(-1, 1, 1)
        expected = torch.sigmoid(model(batch)[:, 1]).numpy()
    assert cams.shape == (3, 128, 128)
    assert torch.allclose(cams, (manual[:, 0] - low) / (high - low), atol=1e-5)
    assert probabilities.shape == (3,)
    assert np.allclose(probabilities, expected, atol=1e-6)


def test_darknet_cam_is_the_class_map_before_pooling():
    torch.manual_seed(0)
    model = build_network("darknet19", 1).eval()
    batch = normalise(torch.randint(0, 256, (2, 3, 128, 128), dtype=torch.uint8))
    captured = []
    model.classifier.register_forward_hook(lambda module, args, output: captured.append(output))
    probabilities, cams = predict_with_cam(model, "darknet19", batch)
    assert len(captured) == 1
    manual = F.interpolate(captured[0], size=(128, 128), mode="bilinear", align_corners=False)
    assert torch.allclose(cams, normalise_cams(manual[:, 0]), atol=1e-6)
    assert cams.min() >= 0 and cams.max() <= 1
    assert np.allclose(probabilities, torch.sigmoid(captured[0].mean(dim=(2, 3)))[:, 0])


def test_a_flat_cam_becomes_zeros():
    cams = normalise_cams(torch.stack([torch.full((4, 4), 3.0), torch.arange(16.0).view(4, 4)]))
    assert cams[0].eq(0).all()
    assert cams[1].min() == 0 and cams[1].max() == 1


def test_cam_maps_back_onto_the_original_image_without_the_letterbox():
    cam = np.zeros((128, 128), dtype=np.float32)
    cam[32:96, :64] = 1.0  # the left half of a 60 x 120 image's content area
    on_image = cam_for_image(cam, 60, 120)
    assert on_image.shape == (60, 120)
    assert on_image[:, :55].min() > 0.9 and on_image[:, 65:].max() < 0.1


def test_cam_overlay_and_png():
    grey = np.full((60, 120), 100, dtype=np.uint8)
    cam = np.zeros((128, 128), dtype=np.float32)
    cam[60:70, 60:70] = 1.0
    overlay = cam_overlay(grey, cam)
    assert overlay.shape == (60, 120, 3) and overlay.dtype == np.uint8
    assert overlay[30, 60, 0] > overlay[30, 60, 2]  # hot: red over blue
    assert overlay[5, 5, 2] > overlay[5, 5, 0]  # cold: blue over red
    assert cam_overlay(np.stack([grey] * 3, axis=2), cam).shape == (60, 120, 3)

    png = Image.open(io.BytesIO(cam_png(cam)))
    assert png.mode == "RGBA" and png.size == (128, 128)
    assert png.getpixel((65, 65))[3] == 255 and png.getpixel((5, 5))[3] == 0
    fitted = Image.open(io.BytesIO(cam_png(torch.from_numpy(cam), image_shape=(60, 120))))
    assert fitted.size == (120, 60)


# --- training ---------------------------------------------------------------------------


def test_a_small_network_learns_an_easy_task():
    train_images, train_targets = blob_images(48, seed=1)
    val_images, val_targets = blob_images(24, seed=2)
    epochs = []
    config = TrainConfig(arch="resnet18", input_size=128, epochs=3, batch_size=16, device="cpu")
    result = train_model(
        config,
        train_images,
        train_targets,
        val_images,
        val_targets,
        evaluate=lambda p: {"score": auc(val_targets.numpy(), p)},
        on_epoch=lambda epoch, metrics: epochs.append((epoch, metrics)),
    )
    assert [epoch for epoch, _ in epochs] == [1, 2, 3]
    assert set(epochs[0][1]) >= {"loss", "score", "seconds", "images_per_second"}
    assert epochs[0][1]["augment_seconds"] < epochs[0][1]["seconds"]
    assert max(metrics["score"] for _, metrics in epochs) > 0.8
    assert not result.stopped

    # The kept weights are the best epoch's: they reproduce its validation score.
    model = build_network("resnet18", 1)
    model.load_state_dict(result.state_dict)
    probabilities = predict(model, val_images, input_size=128, batch_size=16, device="cpu")
    assert probabilities.shape == (24, 1)
    assert auc(val_targets.numpy(), probabilities) == result.history[result.best_epoch - 1]["score"]


def tiny_data():
    images = torch.randint(0, 256, (8, 3, 128, 128), dtype=torch.uint8)
    targets = torch.tensor([[1.0], [0.0]] * 4)
    return images, targets, images[:4], targets[:4]


def test_best_epoch_is_chosen_by_score_and_its_weights_kept():
    scores = iter([0.2, 0.9, 0.5])
    seen = []

    def evaluate(probabilities):
        seen.append(probabilities)
        return {"score": next(scores)}

    config = TrainConfig(arch="resnet18", input_size=128, epochs=3, batch_size=4, device="cpu")
    images, targets, val_images, val_targets = tiny_data()
    result = train_model(config, images, targets, val_images, val_targets, evaluate=evaluate)
    assert result.best_epoch == 2
    assert [h["score"] for h in result.history] == [0.2, 0.9, 0.5]
    model = build_network("resnet18", 1)
    model.load_state_dict(result.state_dict)
    again = predict(model, val_images, input_size=128, batch_size=4, device="cpu")
    assert np.allclose(again, seen[1], atol=1e-6)
    assert not np.allclose(again, seen[2], atol=1e-6)


def test_should_stop_ends_training_after_the_current_epoch():
    config = TrainConfig(arch="resnet18", input_size=128, epochs=5, batch_size=4, device="cpu")
    images, targets, val_images, val_targets = tiny_data()
    result = train_model(
        config,
        images,
        targets,
        val_images,
        val_targets,
        evaluate=lambda p: {"score": 0.5},
        should_stop=lambda: True,
    )
    assert result.stopped
    assert len(result.history) == 1 and result.best_epoch == 1


def test_one_class_data_is_refused():
    config = TrainConfig(arch="resnet18", input_size=128, epochs=1, batch_size=4, device="cpu")
    images, targets, val_images, val_targets = tiny_data()
    with pytest.raises(TrainingDataError, match="too few images of a class in training"):
        train_model(
            config, images, torch.zeros(8, 1), val_images, val_targets, evaluate=lambda p: {}
        )
    with pytest.raises(TrainingDataError, match="in validation for output 0: 1 positive"):
        train_model(
            config, images, targets, val_images, torch.tensor([[1.0], [0.0], [0.0], [0.0]]),
            evaluate=lambda p: {},
        )  # fmt: skip


def test_unknown_targets_are_allowed_and_counted_out():
    config = TrainConfig(arch="resnet18", input_size=128, epochs=1, batch_size=4, device="cpu")
    images, targets, val_images, val_targets = tiny_data()
    # A second output whose first two answers were "cannot be determined".
    second = torch.tensor([[float("nan")], [float("nan")], [1.0], [0.0]] * 2)
    config.num_outputs = 2
    result = train_model(
        config,
        images,
        torch.cat([targets, second], dim=1),
        val_images,
        torch.cat([val_targets, torch.tensor([[1.0], [0.0], [1.0], [0.0]])], dim=1),
        evaluate=lambda p: {"score": float(p.shape[1])},
    )
    assert result.history[0]["score"] == 2.0
    assert np.isfinite(result.history[0]["loss"])


def test_train_config_refuses_small_inputs():
    with pytest.raises(ValueError, match="at least 128"):
        TrainConfig(arch="resnet18", input_size=64)
