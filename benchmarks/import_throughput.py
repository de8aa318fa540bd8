"""Import throughput against bare decoding, on files compressed as scanners send them.

    python benchmarks/import_throughput.py [--patients 30] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Generates a data set, re-encodes every frame as JPEG baseline (YBR_FULL_422 for colour,
MONOCHROME2 for grey), then measures in the same run:
- bare decoding: `pydicom.dcmread(path).pixel_array` over every file, one process;
- the full import (decode, crop, de-identify, PNG and thumbnail, store) on a fresh SQLite
  database and, with --postgres, on a fresh PostgreSQL database;
and prints frames per second and the ratio import / bare decoding.
"""

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_setup import child_json, django_setup, fresh_postgres  # noqa: E402  # beside this file


def to_jpeg_baseline(source: Path, target: Path) -> int:
    import pydicom
    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    ds = pydicom.dcmread(source)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    pixels = ds.pixel_array if frames > 1 else ds.pixel_array[None]
    encoded = []
    for frame in pixels:
        buffer = io.BytesIO()
        # subsampling=1 is 4:2:2, as ultrasound scanners send colour.
        Image.fromarray(frame).save(buffer, format="JPEG", quality=90, subsampling=1)
        encoded.append(buffer.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    if ds.SamplesPerPixel == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return frames


def measure_import(folder: Path, database_url: str, var_dir: Path) -> None:
    """Child process: migrate a fresh database, import the folder, print seconds as JSON."""
    django_setup(database_url, var_dir, migrate=True)

    from annotation.importing.images import import_paths
    from annotation.services import center_upsert

    center_upsert(code="BENCH", name="Benchmark", is_internal=True, is_oncology_center=False)
    started = time.perf_counter()
    report = import_paths(paths=[folder], center_code="BENCH")
    seconds = time.perf_counter() - started
    print(
        json.dumps({"seconds": seconds, "imported": report.imported, "failed": len(report.failed)})
    )


def run_child(folder: Path, database_url: str, work: Path, label: str) -> dict:
    var_dir = work / label
    var_dir.mkdir()
    return child_json(
        __file__, "--measure", folder, "--database-url", database_url, "--var-dir", var_dir
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL server URL to create a database on")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_import(args.measure, args.database_url, args.var_dir)
        return

    import pydicom

    from annotation.synthetic import generate_dataset

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    manifest = generate_dataset(work / "generated", patients=args.patients, seed=7)
    folder = work / "jpeg"
    frames = sum(
        to_jpeg_baseline(work / "generated" / record["dicom"], folder / record["dicom"])
        for record in manifest["images"]
    )
    files = sorted(folder.rglob("*.dcm"))
    started = time.perf_counter()
    for path in files:
        pydicom.dcmread(path).pixel_array  # noqa: B018  # decoding is the work measured
    bare = frames / (time.perf_counter() - started)
    print(f"{len(files)} files, {frames} frames, JPEG baseline (YBR_FULL_422 / MONOCHROME2)")
    print(f"bare dcmread + pixel_array: {bare:.1f} frames/s")
    targets = [("SQLite", f"sqlite:///{work / 'bench.sqlite3'}")]
    if args.postgres:
        targets.append(("PostgreSQL", fresh_postgres(args.postgres, "ovascan_import_bench")))
    for label, url in targets:
        result = run_child(folder, url, work, label)
        rate = result["imported"] / result["seconds"]
        print(
            f"import on {label}: {rate:.1f} frames/s ({result['imported']} stored, "
            f"{result['failed']} refused), ratio to bare decoding {rate / bare:.2f}"
        )


if __name__ == "__main__":
    main()
