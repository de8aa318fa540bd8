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
and the ratio of their rates (b)/(a) (target >= 0.9): what the CAM and the copies back cost
on top of the forward pass.

Without --model-stage, end to end (Django, a throwaway database):

    python benchmarks/inference_throughput.py [--patients 12] [--size 224] [--postgres URL]

generates demo exams, registers a ResNet-50 and a Darknet-19 at --size (untrained: speed
does not depend on the weights) as an ensemble in service, and measures in the same run:
  (a) bare forward: the exams' images, decoded beforehand, through both networks in the
      job's batches (an exam at a time, up to INFERENCE_BATCH_SIZE): normalise + forward;
  (b) the scoring job: inference_job_execute over every exam, the production code: decode
      from storage, preprocess, both models with CAMs, PNG heatmaps, θ, Θ, rows and files;
and prints images per second of each and the ratio (b)/(a) (target >= 0.85 on the CPU at
224 px); decoding + preprocessing per CPU core (one thread), so the number of decoding
workers a GPU needs is known; and the latency of a 10-image exam from its first image
arriving at the DICOM receiver (a real C-STORE association on loopback) to its report being
ready, with the receiver's quiet period (--quiet-seconds) shown apart. The scoring task runs
in the receiver's process (Celery eager) so the latency has no broker hop.
"""

import argparse
import os
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
    parser.add_argument("--patients", type=int, default=12, help="end to end: demo patients")
    parser.add_argument("--seed", type=int, default=2026, help="end to end: demo seed")
    parser.add_argument("--postgres", help="end to end: a PostgreSQL URL instead of SQLite")
    parser.add_argument("--quiet-seconds", type=int, default=1, help="receiver quiet period")
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
    print(f"{'network':12} {'(a) bare img/s':>15} {'(b) stage img/s':>16} {'(b)/(a)':>8}")
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
    print(f"{name:12} {images / bare:15.1f} {images / stage:16.1f} {bare / stage:8.2f}")


def end_to_end(args: argparse.Namespace) -> None:
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_setup import django_setup, fresh_postgres

    work = Path(tempfile.mkdtemp(prefix="inference-bench-"))
    database = (
        fresh_postgres(args.postgres, "bench_inference")
        if args.postgres
        else f"sqlite:///{work / 'db.sqlite3'}"
    )
    os.environ["DEMO_DATA_DIR"] = str(work / "data")
    django_setup(database, work, migrate=True)
    from django.conf import settings

    from annotation.demo import demo_data_generate
    from annotation.models import Exam
    from annotation.signals import demo_data_loaded
    from inference import datasets
    from inference.inference_jobs import (
        inference_job_create,
        inference_job_execute,
        loaded_network,
        usable_images,
    )
    from inference.models import Ensemble, ExamResult, ImagePrediction, ThresholdRule
    from inference.registry import model_version_register

    demo_data_loaded.disconnect(dispatch_uid="inference-demo-models")  # no training here
    started = time.perf_counter()
    demo_data_generate(patients=args.patients, seed=args.seed)
    print(f"demo data: {args.patients} patients in {time.perf_counter() - started:.1f} s")

    torch.manual_seed(0)
    versions = {
        arch: model_version_register(
            task="malignancy",
            architecture=arch,
            input_size=args.size,
            outputs=["malignant"],
            state_dict=build_network(arch, 1).state_dict(),
            in_service=True,
            metrics={"internal": {"exam_auc": 0.8}},
        )
        for arch in NETWORKS
    }
    ensemble = Ensemble.objects.create(
        resnet=versions["resnet50"],
        darknet=versions["darknet19"],
        weight_resnet=0.5,
        weight_darknet=0.5,
        threshold=0.7,
        threshold_rule=ThresholdRule.YOUDEN,
        in_service=True,
    )
    for version in versions.values():
        loaded_network(version)  # a worker loads each model once, before its first job

    exams = Exam.objects.filter(images__isnull=False).distinct().order_by("pk")
    exam_ids = list(exams.values_list("pk", flat=True))
    per_exam = [len(usable_images(exam, None)[0]) for exam in exams]
    image_ids = [image.pk for exam in exams for image in usable_images(exam, None)[0]]
    batch = settings.INFERENCE_BATCH_SIZE
    print(
        f"{len(exam_ids)} exams, {len(image_ids)} images, {args.size} px, batch {batch}, "
        f"{torch.get_num_threads()} torch threads, best of {args.repeats}"
    )

    started = time.perf_counter()
    tensors = datasets.load_inputs(image_ids, args.size, workers=1)
    decode = len(image_ids) / (time.perf_counter() - started)
    networks = [loaded_network(version) for version in versions.values()]

    # The job's batches: an exam at a time, in chunks of `batch`.
    batches = [
        chunk
        for exam_tensors in torch.split(tensors, per_exam)
        for chunk in torch.split(exam_tensors, batch)
    ]

    def bare() -> float:
        began = time.perf_counter()
        with torch.inference_mode():
            for network in networks:
                for part in batches:
                    network(normalise(part))
        return time.perf_counter() - began

    def job() -> float:
        ExamResult.objects.all().delete()  # each pass scores every exam afresh
        for prediction in ImagePrediction.objects.all():
            prediction.heatmap.delete(save=False)
        ImagePrediction.objects.all().delete()
        queued = inference_job_create(
            exam_ids=exam_ids, scope="benchmark", ensemble=ensemble, enqueue=False
        )
        began = time.perf_counter()
        inference_job_execute(job_id=queued.pk)
        seconds = time.perf_counter() - began
        scored = ExamResult.objects.filter(ensemble=ensemble, status="scored").count()
        if scored != len(exam_ids):
            raise SystemExit(f"only {scored} of {len(exam_ids)} exams scored")
        return seconds

    bare(), job()  # warm-up of both (first-touch allocations, caches)
    best = {"bare": float("inf"), "job": float("inf")}
    for _ in range(args.repeats):  # in turns, so other load hits both alike
        best["bare"] = min(best["bare"], bare())
        best["job"] = min(best["job"], job())
    rate = {key: len(image_ids) / seconds for key, seconds in best.items()}
    print(f"(a) bare forward, both networks: {rate['bare']:.1f} images/s")
    print(f"(b) scoring job, end to end:     {rate['job']:.1f} images/s")
    print(f"ratio (b)/(a): {rate['job'] / rate['bare']:.2f} (target >= 0.85)")
    print(f"decoding + preprocessing: {decode:.1f} images/s per CPU core (one thread)")
    receiver_latency(args, work)


def receiver_latency(args: argparse.Namespace, work: Path) -> None:
    """A new 10-image exam through the DICOM receiver, the quiet period, scoring, report."""
    import logging
    import threading

    from django.conf import settings
    from pydicom import dcmread
    from pydicom.uid import generate_uid
    from pynetdicom import AE
    from pynetdicom.sop_class import UltrasoundImageStorage

    from annotation.models import Exam
    from annotation.pacs.receiver import completion_sweeper_start, receiver_start
    from inference.models import ExamResult
    from ovarian_web.celery import app
    from ovarian_web.local_services import free_port

    for name in ("pynetdicom", "annotation", "celery"):
        logging.getLogger(name).setLevel(logging.WARNING)  # one line per image otherwise
    app.conf.task_always_eager = True  # the scoring task runs here, no broker hop
    files = sorted((work / "data" / "dicom").rglob("*.dcm"))
    single = [
        path for path in files if "NumberOfFrames" not in dcmread(path, stop_before_pixels=True)
    ]
    outgoing = []
    accession = "BENCH0001"
    for index, path in enumerate(single[:10]):
        ds = dcmread(path)
        ds.PatientID, ds.AccessionNumber = "BENCH-PATIENT", accession
        ds.StudyInstanceUID = "2.25.1234567"
        ds.SeriesInstanceUID = "2.25.1234568"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        outgoing.append(ds)
    center = Exam.objects.values_list("center__code", flat=True).first()
    newest = Exam.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    port = free_port()
    settings.DICOM_SPOOL_DIR = work / "spool"
    server = receiver_start(
        ae_title="OVASCAN",
        host="127.0.0.1",
        port=port,
        allowed_callers=[],
        center_code=center,
        spool_dir=settings.DICOM_SPOOL_DIR,
    )
    stop = threading.Event()
    completion_sweeper_start(quiet_seconds=args.quiet_seconds, stop=stop, interval=0.1)
    try:
        scanner = AE(ae_title="SCANNER")
        for syntax in {ds.file_meta.TransferSyntaxUID for ds in outgoing}:
            scanner.add_requested_context(UltrasoundImageStorage, syntax)
        began = time.perf_counter()
        assoc = scanner.associate("127.0.0.1", port, ae_title="OVASCAN")
        for ds in outgoing:
            status = assoc.send_c_store(ds)
            if status.Status != 0:
                raise SystemExit(f"C-STORE refused: {status}")
        assoc.release()
        sent = time.perf_counter()
        ready = ExamResult.objects.filter(exam_id__gt=newest, status="scored")
        while not ready.exists():
            if time.perf_counter() - began > 300:
                raise SystemExit("the exam was not scored within 300 s")
            time.sleep(0.02)
        scored = time.perf_counter()
    finally:
        stop.set()
        server.shutdown()
    print(
        f"DICOM receiver -> report ready, 10-image exam: {scored - began:.2f} s "
        f"(sending {sent - began:.2f} s, quiet period {args.quiet_seconds} s, "
        f"completion, scoring and the report {scored - sent - args.quiet_seconds:.2f} s)"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.model_stage:
        model_stage(args)
    else:
        end_to_end(args)


if __name__ == "__main__":
    main()
