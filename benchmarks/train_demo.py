"""Training the demo models on the demo generator's data, on the CPU.

    python benchmarks/train_demo.py [--patients 160] [--epochs 8] [--size 128]

Generates the demo data set into a throwaway SQLite database, trains ResNet-50 and Darknet-19
through the real training path (the training job's code: data from the database, splits by
patient, augmentation, model selection on exam-level AUC, registration), pairs them and prints:
exam-level validation AUC per model and of the combined Θ on the internal set and on each
external centre; training images per second next to a bare training loop of the same
network fed the same augmented batches in the same run (ratio, target ≥ 0.8); and the share
of training time spent in augmentation.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_setup import django_setup  # noqa: E402 - after the path


def bare_loop(architecture: str, images, targets, *, size: int, batch: int, batches: int) -> float:
    """Images per second of augment → forward → loss → backward → step, nothing else."""
    import torch

    from inference.ml.augment import augment_batch
    from inference.ml.data import normalise
    from inference.ml.networks import build_network

    torch.manual_seed(0)
    network = build_network(architecture, 1).train()
    optimiser = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=5e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(0)
    seen = 0
    started = None
    for step in range(batches + 1):  # the first batch warms up, untimed
        if step == 1:
            started = time.perf_counter()
        index = torch.randint(0, len(images), (batch,), generator=generator)
        x = normalise(augment_batch(images[index], generator, size))
        loss = loss_fn(network(x).reshape(batch, -1), targets[index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        seen += batch if step else 0
    return seen / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=160)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bare-batches", type=int, default=16)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="train-bench-"))
    os.environ["DEMO_DATA_DIR"] = str(work / "data")
    sys.path.insert(0, str(ROOT))
    django_setup(f"sqlite:///{work / 'db.sqlite3'}", work, migrate=True)
    import torch

    from annotation.demo import demo_data_generate
    from inference import datasets
    from inference.models import TrainingJob
    from inference.registry import ensemble_create, ensemble_evaluate
    from inference.training import training_job_create, training_job_execute

    started = time.perf_counter()
    demo_data_generate(patients=args.patients, seed=args.seed)
    TrainingJob.objects.all().delete()  # the demo's own queued jobs; this script trains
    print(f"demo data: {args.patients} patients in {time.perf_counter() - started:.1f} s")
    dataset = datasets.malignancy_dataset(seed=1)
    sizes = {name: len(split.image_ids) for name, split in dataset.validation.items()}
    print(f"images: train {len(dataset.train.image_ids)}, validation {sizes}")
    print(f"torch threads: {torch.get_num_threads()}")

    versions = {}
    for architecture in ("resnet50", "darknet19"):
        job = training_job_create(
            task="malignancy",
            architecture=architecture,
            input_size=args.size,
            epochs=args.epochs,
            batch_size=args.batch,
            seed=1,
            enqueue=False,
        )
        started = time.perf_counter()
        training_job_execute(job_id=job.pk)
        job.refresh_from_db()
        if job.result is None:
            raise SystemExit(f"{architecture} failed: {job.error}")
        wall = time.perf_counter() - started
        versions[architecture] = job.result
        history = job.history
        trained = sum(h["images_per_second"] * h["seconds"] for h in history)
        seconds = sum(h["seconds"] for h in history)
        augment = sum(h.get("augment_seconds", 0.0) for h in history)
        pipeline = trained / seconds
        train_images = datasets.load_inputs(dataset.train.image_ids, args.size)
        targets = torch.from_numpy(dataset.train.targets)
        bare = bare_loop(
            architecture,
            train_images,
            targets,
            size=args.size,
            batch=args.batch,
            batches=args.bare_batches,
        )
        metrics = job.result.metrics
        print(f"\n{architecture}: {wall:.0f} s in all, best epoch {metrics['best_epoch']}")
        for name in sorted(dataset.validation):
            m = metrics[name]
            print(
                f"  {name:<14} exam AUC {_f(m['exam_auc'])}  image AUC {_f(m['image_auc'])}"
                f"  ({m['exams']} exams, {m['images']} images)"
            )
        print(
            f"  training {pipeline:.1f} images/s vs bare loop {bare:.1f} images/s: "
            f"ratio {pipeline / bare:.2f} (target >= 0.8); augmentation "
            f"{100 * augment / seconds:.1f} % of training time"
        )

    ensemble = ensemble_create(resnet=versions["resnet50"], darknet=versions["darknet19"])
    evaluation = ensemble_evaluate(versions["resnet50"], versions["darknet19"])
    print(
        f"\nensemble: w_ResNet {ensemble.weight_resnet:.3f}, w_Darknet "
        f"{ensemble.weight_darknet:.3f}, threshold {ensemble.threshold:.3f} "
        f"(sensitivity {ensemble.sensitivity:.2f}, specificity {ensemble.specificity:.2f})"
    )
    for name, entry in sorted(evaluation["sets"].items()):
        print(f"  Θ {name:<14} exam AUC {_f(entry['auc'])}  ({entry['exams']} exams)")


def _f(value) -> str:
    return "  –  " if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
