"""How long the demo data set takes: generation, and loading against bare DICOM decoding.

    python benchmarks/demo_data.py [--patients 80]

Prints the generation time (the demo default must stay under a minute on 2 cores) and the
load rate in frames per second next to bare `pydicom.dcmread(...).pixel_array` over the same
files in the same run, as a ratio. Uses a throwaway SQLite database and media folder.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=80)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    os.environ.update(
        {
            "VAR_DIR": str(work),
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "MEDIA_ROOT": str(work / "media"),
            "DJANGO_SETTINGS_MODULE": "ovarian_web.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import pydicom
    from django.core.management import call_command

    from annotation.demo import demo_data_generate
    from annotation.synthetic import generate_dataset

    call_command("migrate", verbosity=0)
    data_dir = work / "data"

    started = time.perf_counter()
    manifest = generate_dataset(data_dir, patients=args.patients, seed=args.seed)
    generation = time.perf_counter() - started
    files = [data_dir / record["dicom"] for record in manifest["images"]]

    started = time.perf_counter()
    for path in files:
        pydicom.dcmread(path).pixel_array  # noqa: B018  # decoding is the work measured
    frames = sum(record["frames"] for record in manifest["images"])
    bare = time.perf_counter() - started

    started = time.perf_counter()
    result = demo_data_generate(patients=args.patients, seed=args.seed, data_dir=data_dir)
    load = time.perf_counter() - started

    print(
        f"patients {args.patients}, exams {len(manifest['exams'])}, "
        f"files {len(files)}, frames {frames}"
    )
    print(f"generation: {generation:.1f} s ({len(files) / generation:.1f} files/s)")
    print(f"bare decode (dcmread + pixel_array): {frames / bare:.1f} frames/s")
    print(
        f"load (clinical CSV + image import): {frames / load:.1f} frames/s"
        f" ({result['images_imported']} stored)"
    )
    print(f"ratio load / bare decode: {bare / load:.3f}")
    print(f"demo total (generate + load): {generation + load:.1f} s")


if __name__ == "__main__":
    main()
