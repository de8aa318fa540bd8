"""Playwright driving Debian's chromium (never a downloaded browser), headless."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.conf import global_settings

from ovarian_web.local_services import free_port, uvicorn_command, wait_for_port

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    """One chromium per test: Playwright's event loop must not outlive it into async tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(.ci/run does) or set CHROMIUM_PATH"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
    # make between page actions are plain synchronous calls, so Django may allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# Reports each Content Security Policy violation to the console, where the fixture sees it
# (Chromium also logs a refused inline script or style there itself).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


@pytest.fixture
def page(browser):
    """A page in a fresh context; the test fails if any page broke the Content Security
    Policy (an inline script, a style or a connection it does not allow)."""
    context = browser.new_context()
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    violations = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            violations.append(message.text)

    context.on("console", on_console)
    page.csp_violations = violations
    yield page
    context.close()
    assert violations == [], "pages broke the Content Security Policy"


@pytest.fixture
def celery_worker_process(server_env):
    """A real Celery worker process on the default queue."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ovarian_web",
            "worker",
            "-Q",
            "default",
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:  # the worker says when it consumes
            if " ready." in line:
                break
        else:
            raise RuntimeError("the Celery worker exited before it was ready")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def asgi_server(settings, redis_url, server_env):
    """The production server (uvicorn, production_application) on the test database, sharing
    Redis with the tests."""
    # The server checks passwords with the production hashers, so users here must use them.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    channel_layers.backends.clear()
    port = free_port()
    process = subprocess.Popen(
        uvicorn_command("127.0.0.1", port, workers=1),
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process, seconds=180)  # torch imports slowly on a busy machine
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a request still in flight: do not wait for it
            process.kill()
            process.wait()
        channel_layers.backends.clear()
