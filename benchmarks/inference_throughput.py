"""Inference throughput of the malignancy networks.

    python benchmarks/inference_throughput.py --model-stage [--device auto] [--images 4096]
        [--batch 256] [--size 224] [--repeats 3] [--amp] [--channels-last]

--model-stage (torch only, no Django): pre-decoded random uint8 images [N, 3, S, S] in CPU
memory go through ResNet-50 and Darknet-19 (one output each). Measured in the same run, after
a warm-up, as the best of --repeats passes, for each network and for both together (every
image through both):
  (a) bare forward: copy to the device, normalise, forward pass; no CAM;
  (b) model stage: copy to the device, normalise, forward pass with the CAM taken from the
      same pass, probabilities and uint8 CAMs moved to the CPU;
and the time ratio (b)/(a): what the CAM and the copies back cost on top of the forward pass.

Without --model-stage: the end-to-end mode (decode, database, jobs), written with the
Django part.
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.ml.cam import cams_to_uint8, predict_with_cam  # noqa: E402 - after the path
from inference.ml.data import normalise  # noqa: E402
from inference.ml.networks import build_network  # noqa: E402

NETWORKS = ("resnet50", "darknet19")
WARMUP_BATCHES = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-stage", action="store_true", help="torch-only model stage")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--batch", type=int, default=None, help="default 256 on cuda, 32 on cpu")
    parser.add_argument("--size", type=int, default=224, help="input side in pixels")
    parser.add_argument("--images", type=int, default=None, help="default 4096 cuda, 64 cpu")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many passes")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (cuda only)")
    parser.add_argument("--channels-last", action="store_true", help="channels_last (cuda)")
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = args.device.startswith("cuda")
    args.batch = args.batch or (256 if cuda else 32)
    args.images = args.images or (4096 if cuda else 64)
    if args.amp and not cuda:
        parser.error("--amp is for cuda (CPU runs stay float32)")
    return args


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_pass(run: Callable[[torch.Tensor], None], batches: list[torch.Tensor], device) -> float:
    synchronise(device)
    began = time.perf_counter()
    for part in batches:
        run(part)
    synchronise(device)
    return time.perf_counter() - began


def best_times(
    runs: dict[str, Callable[[torch.Tensor], None]], images: torch.Tensor, args, device
) -> dict[str, float]:
    """Best seconds of each run over every image, after warm-up batches (not counted).

    The runs take turns in each repeat, so load from other processes hits them alike."""
    batches = list(torch.split(images, args.batch))
    for run in runs.values():
        for part in batches[:WARMUP_BATCHES]:
            run(part)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeats):
        for name, run in runs.items():
            best[name] = min(best[name], one_pass(run, batches, device))
    return best


def model_stage(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(
        0, 256, (args.images, 3, args.size, args.size), dtype=torch.uint8, generator=generator
    )
    if cuda:
        images = images.pin_memory()  # as a decoding worker would hand them over
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.amp and cuda)

    def to_device(part: torch.Tensor) -> torch.Tensor:
        batch = normalise(part.to(device, non_blocking=True))
        return batch.contiguous(memory_format=memory_format)

    print(
        f"model stage: {args.images} images {args.size}x{args.size}, batch {args.batch}, "
        f"{device}{', bf16' if args.amp else ''}{', channels_last' if args.channels_last else ''}"
        f", {torch.get_num_threads()} CPU threads, best of {args.repeats}"
    )
    print(f"{'network':12} {'(a) bare img/s':>15} {'(b) stage img/s':>16} {'(b)/(a) time':>13}")
    totals = {"bare": 0.0, "stage": 0.0}
    for arch in NETWORKS:
        torch.manual_seed(0)
        model = build_network(arch, 1).to(device, memory_format=memory_format).eval()

        def bare(part: torch.Tensor, model=model) -> None:
            with torch.inference_mode(), autocast:
                model(to_device(part))

        def stage(part: torch.Tensor, model=model, arch=arch) -> None:
            with autocast:
                probabilities, cams = predict_with_cam(model, arch, to_device(part))
            cams_to_uint8(cams)  # probabilities are already on the CPU

        seconds = best_times({"bare": bare, "stage": stage}, images, args, device)
        for key in totals:
            totals[key] += seconds[key]
        report(arch, args.images, seconds["bare"], seconds["stage"])
        del model
        if cuda:
            torch.cuda.empty_cache()
    report("both", args.images, totals["bare"], totals["stage"])


def report(name: str, images: int, bare: float, stage: float) -> None:
    print(f"{name:12} {images / bare:15.1f} {images / stage:16.1f} {stage / bare:13.2f}")


def end_to_end(args: argparse.Namespace) -> None:
    # The Django part fills this in (decode throughput per CPU core, jobs, database writes).
    raise SystemExit("end-to-end mode: see the Django part")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.model_stage:
        model_stage(args)
    else:
        end_to_end(args)


if __name__ == "__main__":
    main()
