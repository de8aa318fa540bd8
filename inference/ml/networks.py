"""The malignancy networks of the method (step 4): ResNet-50, ResNet-18 and Darknet-19.

Every network maps a normalised [N, 3, S, S] batch to [N, num_classes] logits and exposes,
through `forward_with_maps`, the spatial maps a class activation map is made from, so the
CAM comes out of the same forward pass as the prediction.
"""

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torchvision import models

ARCHITECTURES = ("resnet50", "resnet18", "darknet19")

# The classification head of each network: left out when ImageNet weights are loaded.
HEAD_PREFIX = {"resnet50": "fc.", "resnet18": "fc.", "darknet19": "classifier."}

# The feature part of Darknet-19 as in the YOLO9000 paper (Redmon & Farhadi 2017, table 6):
# an int is a 3x3 convolution with that many filters, (n, 1) a 1x1 one, "M" a 2x2 max-pool.
DARKNET19_LAYERS: tuple[int | tuple[int, int] | str, ...] = (
    32, "M",
    64, "M",
    128, (64, 1), 128, "M",
    256, (128, 1), 256, "M",
    512, (256, 1), 512, (256, 1), 512, "M",
    1024, (512, 1), 1024, (512, 1), 1024,
)  # fmt: skip


class CheckpointMismatch(ValueError):
    """A checkpoint that does not fit the network it is loaded into."""


class Darknet19(nn.Module):
    """18 convolutions with batch norm and LeakyReLU(0.1), five max-pools, then a 1x1
    convolution to the classes (the 19th) and global average pooling.

    The class convolution's output before pooling is a per-class map: the CAM directly."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for spec in DARKNET19_LAYERS:
            if spec == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            filters, kernel = spec if isinstance(spec, tuple) else (spec, 3)
            # No bias: batch norm's shift makes it redundant (as in darknet's cfg).
            layers += [
                nn.Conv2d(channels, filters, kernel, padding=kernel // 2, bias=False),
                nn.BatchNorm2d(filters),
                nn.LeakyReLU(0.1, inplace=True),
            ]
            channels = filters
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(channels, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).mean(dim=(2, 3))


def _construct(arch: str, num_classes: int) -> nn.Module:
    if arch == "resnet50":
        return models.resnet50(weights=None, num_classes=num_classes)
    if arch == "resnet18":
        return models.resnet18(weights=None, num_classes=num_classes)
    if arch == "darknet19":
        return Darknet19(num_classes)
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHITECTURES)}")


def _expected_shapes(arch: str, num_classes: int) -> dict[str, torch.Size]:
    # On the meta device nothing is allocated or initialised: only the names and shapes.
    with torch.device("meta"):
        model = _construct(arch, num_classes)
    return {key: value.shape for key, value in model.state_dict().items()}


def _optional(key: str) -> bool:
    # Older checkpoints predate BatchNorm's counter; loading sets it to 0 when absent.
    return key.endswith("num_batches_tracked")


def _first(keys: list, limit: int = 5) -> str:
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(map(str, keys[:limit])) + more


def _compare(
    arch: str, expected: Mapping[str, torch.Size], given: Mapping[str, object], what: str
) -> None:
    problems = []
    missing = [k for k in expected if k not in given and not _optional(k)]
    unexpected = [k for k in given if k not in expected]
    if missing:
        problems.append(f"missing keys: {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_first(unexpected)}")
    shapes, not_tensors = [], []
    for key, shape in expected.items():
        value = given.get(key)
        if key in given and not isinstance(value, torch.Tensor):
            not_tensors.append(key)
        elif isinstance(value, torch.Tensor) and value.shape != shape:
            shapes.append(f"{key} {tuple(value.shape)} instead of {tuple(shape)}")
    if not_tensors:
        problems.append(f"not tensors: {_first(not_tensors)}")
    if shapes:
        problems.append(f"wrong shapes: {_first(shapes, 3)}")
    if problems:
        raise CheckpointMismatch(f"{what} does not fit {arch}: " + "; ".join(problems))


def check_state_dict(arch: str, num_classes: int, state_dict: Mapping[str, object]) -> None:
    """Raise CheckpointMismatch unless `state_dict` loads into build_network(arch, num_classes)."""
    if not isinstance(state_dict, Mapping):
        raise CheckpointMismatch(f"a checkpoint must be a dict, not {type(state_dict).__name__}")
    _compare(arch, _expected_shapes(arch, num_classes), state_dict, "the checkpoint")


def load_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a file, unwrapped from {"state_dict": ...} or {"model": ...} and from
    DataParallel's "module." prefix. Only tensors are unpickled (weights_only)."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file is the same error for the user
        raise CheckpointMismatch(f"cannot read checkpoint {Path(path).name}: {error}") from error
    for wrapper in ("state_dict", "model"):
        if isinstance(content, Mapping) and isinstance(content.get(wrapper), Mapping):
            content = content[wrapper]
    if not isinstance(content, Mapping) or not content:
        raise CheckpointMismatch(f"checkpoint {Path(path).name} holds no state dict")
    state = dict(content)
    if all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def build_network(arch: str, num_classes: int, pretrained_path: str | None = None) -> nn.Module:
    """A freshly initialised network; with `pretrained_path`, every layer but the
    classification head loaded from that local (ImageNet) checkpoint."""
    if num_classes < 1:
        raise ValueError("num_classes must be at least 1")
    model = _construct(arch, num_classes)
    if pretrained_path is not None:
        head = HEAD_PREFIX[arch]
        state = {
            k: v for k, v in load_checkpoint(pretrained_path).items() if not k.startswith(head)
        }
        expected = {k: v.shape for k, v in model.state_dict().items() if not k.startswith(head)}
        _compare(arch, expected, state, f"pretrained checkpoint {Path(pretrained_path).name}")
        # strict=False only because the head is absent; everything else was checked above.
        model.load_state_dict(state, strict=False)
    return model


def forward_with_maps(
    model: nn.Module, arch: str, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [N, k], maps) in one pass. For ResNet the maps are the last convolutional
    features [N, C, h, w] before global average pooling; for Darknet-19 they are the class
    convolution's output [N, k, h, w], whose spatial mean is the logits."""
    if arch == "darknet19":
        maps = model.classifier(model.features(x))
        return maps.mean(dim=(2, 3)), maps
    if arch in ("resnet50", "resnet18"):
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        features = model.layer4(model.layer3(model.layer2(model.layer1(x))))
        return model.fc(torch.flatten(model.avgpool(features), 1)), features
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHITECTURES)}")
