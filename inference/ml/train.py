"""Training of the triage and malignancy networks (method steps 2 and 4).

Every output is a binary question scored with its own logit and binary cross-entropy:
the malignancy model has one output (malignant), the triage classifier one per question
(adnexal, ascites, blood flow, 2D/3D...). Training images are augmented on the fly inside the
loop; validation images never are. The epoch kept is the one with the best validation score,
which the caller computes (exam-level AUC) from the validation probabilities.
"""

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from inference.ml.augment import augment_batch, eval_batch
from inference.ml.data import normalise
from inference.ml.networks import ARCHITECTURES, build_network

OPTIMIZERS = ("adamw", "sgd")
SGD_MOMENTUM = 0.9
MIN_PER_CLASS = 2  # positives and negatives per output, in training and in validation


class TrainingDataError(ValueError):
    """Data a model cannot be trained or validated on."""


@dataclass
class TrainConfig:
    arch: str
    num_outputs: int = 1
    input_size: int = 224
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0005  # the method's value
    seed: int = 0
    device: str = "auto"  # "cpu", "cuda", "cuda:1" or "auto"
    pretrained_path: str | None = None
    # pos_weight of each output's BCE; None: negatives / positives in the training targets.
    positive_weight: list[float] | None = None
    threads: int | None = None  # CPU threads for torch while training; None: unchanged
    optimizer: str = "adamw"

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; allowed: {ARCHITECTURES}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; allowed: {OPTIMIZERS}")
        if self.input_size < 128:
            raise ValueError("input_size must be at least 128 pixels")
        if min(self.num_outputs, self.epochs, self.batch_size) < 1:
            raise ValueError("num_outputs, epochs and batch_size must be positive")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (batch norm)")
        if self.positive_weight is not None and len(self.positive_weight) != self.num_outputs:
            raise ValueError("positive_weight needs one value per output")


@dataclass
class TrainResult:
    state_dict: dict[str, torch.Tensor]  # of the best epoch, on the CPU
    best_epoch: int  # 1-based
    history: list[dict] = field(default_factory=list)
    stopped: bool = False  # should_stop ended training before the last epoch


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    # Mixed precision only on CUDA; CPU runs stay plain float32 (bf16 there is slow and lossy).
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def _check_data(name: str, images: torch.Tensor, targets: torch.Tensor, outputs: int) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise TrainingDataError(f"{name} images must be uint8 [N, 3, S, S]")
    if targets.shape != (images.shape[0], outputs):
        raise TrainingDataError(
            f"{name} targets must be [{images.shape[0]}, {outputs}], got {tuple(targets.shape)}"
        )
    known = ~torch.isnan(targets)
    if not torch.all((targets[known] == 0) | (targets[known] == 1)):
        raise TrainingDataError(f"{name} targets must be 0, 1 or NaN (unknown)")
    positives = (targets == 1).sum(dim=0)
    negatives = (targets == 0).sum(dim=0)
    for output in range(outputs):
        if min(positives[output], negatives[output]) < MIN_PER_CLASS:
            raise TrainingDataError(
                f"too few images of a class in {name} for output {output}: "
                f"{int(positives[output])} positive, {int(negatives[output])} negative "
                f"(at least {MIN_PER_CLASS} of each needed)"
            )


def _positive_weight(config: TrainConfig, targets: torch.Tensor) -> torch.Tensor:
    if config.positive_weight is not None:
        return torch.tensor(config.positive_weight, dtype=torch.float32)
    # Class imbalance: each positive counts as much as negatives/positives negatives.
    positives = (targets == 1).sum(dim=0).float()
    negatives = (targets == 0).sum(dim=0).float()
    return negatives / positives


def _batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        indices = order[start : start + batch_size]
        if len(indices) > 1:  # a batch of one breaks batch norm; it is reshuffled next epoch
            yield indices


def _masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor
) -> torch.Tensor:
    # NaN targets (a question answered "cannot be determined") do not count.
    known = ~torch.isnan(targets)
    losses = F.binary_cross_entropy_with_logits(
        logits.float(), torch.nan_to_num(targets), pos_weight=pos_weight, reduction="none"
    )
    return (losses * known).sum() / known.sum().clamp_min(1)


def predict(
    model: torch.nn.Module,
    images: torch.Tensor,
    *,
    input_size: int,
    batch_size: int,
    device: str | torch.device,
) -> np.ndarray:
    """Sigmoid probabilities [N, k] of uint8 [N, 3, S, S] images; eval mode, no augmentation."""
    device = resolve_device(device)
    model.to(device).eval()
    outputs = []
    with torch.inference_mode(), _autocast(device):
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(device, non_blocking=True)
            inputs = normalise(eval_batch(batch, input_size))
            if device.type == "cuda":
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            logits = model(inputs)
            outputs.append(torch.sigmoid(logits.float()))  # stays on the device: no sync
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(outputs).cpu().numpy()


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # A copy (training goes on changing the weights), contiguous whatever channels_last did.
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


class _Timer:
    """Seconds spent in a repeated step; CUDA events on the GPU so timing adds no sync."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self.seconds = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            self.events.append((start, end))
        else:
            began = time.perf_counter()
            yield
            self.seconds += time.perf_counter() - began

    def total(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            self.seconds += sum(start.elapsed_time(end) for start, end in self.events) / 1000
            self.events = []
        return self.seconds


def train_model(
    config: TrainConfig,
    train_images: torch.Tensor,
    train_targets: torch.Tensor,
    val_images: torch.Tensor,
    val_targets: torch.Tensor,
    *,
    evaluate: Callable[[np.ndarray], dict],
    on_epoch: Callable[[int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a network and keep its best epoch by `evaluate(val_probabilities)["score"]`.

    Images are uint8 [N, 3, S, S] (S >= input_size is fine: augmentation and evaluation
    resize); targets float [N, num_outputs] of 0/1, NaN for unknown. `on_epoch(epoch, metrics)`
    gets each epoch's metrics with "loss", "score", "seconds", "images_per_second" and
    "augment_seconds". `should_stop()` is asked after each epoch. Raises TrainingDataError
    when an output has fewer than 2 positives or negatives in training or validation."""
    train_targets = train_targets.float()
    val_targets = val_targets.float()
    _check_data("training", train_images, train_targets, config.num_outputs)
    _check_data("validation", val_images, val_targets, config.num_outputs)
    device = resolve_device(config.device)
    previous_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _train(
            config, device, train_images, train_targets, val_images, evaluate, on_epoch, should_stop
        )
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    config: TrainConfig,
    device: torch.device,
    train_images: torch.Tensor,
    train_targets: torch.Tensor,
    val_images: torch.Tensor,
    evaluate: Callable[[np.ndarray], dict],
    on_epoch: Callable[[int, dict], None] | None,
    should_stop: Callable[[], bool] | None,
) -> TrainResult:
    torch.manual_seed(config.seed)  # weight initialisation
    generator = torch.Generator().manual_seed(config.seed)  # shuffling and augmentation
    cuda = device.type == "cuda"
    model = build_network(config.arch, config.num_outputs, config.pretrained_path).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
        # uint8 images are compact (5000 at 256 px: 1 GB): kept on the GPU, no copy per step.
        train_images = train_images.to(device)
        train_targets = train_targets.to(device)
    pos_weight = _positive_weight(config, train_targets).to(device)
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config.learning_rate,
            momentum=SGD_MOMENTUM,
            weight_decay=config.weight_decay,
        )
    else:
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)

    history: list[dict] = []
    best_score, best_epoch, best_state = -float("inf"), 0, None
    stopped = False
    for epoch in range(1, config.epochs + 1):
        began = time.perf_counter()
        model.train()
        augment_timer = _Timer(device)
        loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per step
        seen = 0
        for indices in _batches(train_images.shape[0], config.batch_size, generator):
            indices = indices.to(train_images.device)
            batch = train_images[indices].to(device)
            targets = train_targets[indices].to(device)
            with augment_timer.measure():
                inputs = normalise(augment_batch(batch, generator, config.input_size))
            if cuda:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with _autocast(device):
                logits = model(inputs)
            loss = _masked_bce(logits, targets, pos_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(indices)
            seen += len(indices)
        scheduler.step()
        augment_seconds = augment_timer.total()
        train_seconds = time.perf_counter() - began

        probabilities = predict(
            model,
            val_images,
            input_size=config.input_size,
            batch_size=config.batch_size,
            device=device,
        )
        metrics = dict(evaluate(probabilities))
        if "score" not in metrics:
            raise ValueError('evaluate() must return a dict with a "score"')
        metrics.update(
            epoch=epoch,
            loss=float(loss_sum) / max(seen, 1),
            seconds=time.perf_counter() - began,
            images_per_second=seen / train_seconds if train_seconds > 0 else 0.0,
            augment_seconds=augment_seconds,
        )
        history.append(metrics)
        if metrics["score"] > best_score:
            best_score, best_epoch = metrics["score"], epoch
            best_state = _cpu_state(model)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        if should_stop is not None and epoch < config.epochs and should_stop():
            stopped = True
            break
    if best_state is None:  # every score was NaN: keep the last epoch
        best_epoch = history[-1]["epoch"]
        best_state = _cpu_state(model)
    return TrainResult(best_state, best_epoch, history, stopped)
