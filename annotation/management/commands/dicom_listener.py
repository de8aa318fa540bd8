import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Center
from annotation.pacs.receiver import (
    ReceiverConfigError,
    callers_check,
    completion_sweeper_start,
    receiver_start,
    spool_recover,
    tls_server_context,
)


class Command(BaseCommand):
    help = (
        "Run the DICOM receiver (C-STORE SCP) until SIGTERM or Ctrl-C: what a scanner or PACS "
        "sends is imported, and an exam counts as complete once its study has been quiet."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set by SIGTERM/SIGINT; tests that run the command in a thread set it themselves.
        self.stop = threading.Event()

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default="0.0.0.0",  # noqa: S104 - a DICOM receiver must be reachable by the scanners
            help="address to listen on (default: all)",
        )
        parser.add_argument("--port", type=int, default=settings.DICOM_PORT)
        parser.add_argument("--ae-title", default=settings.DICOM_AE_TITLE)
        parser.add_argument(
            "--center",
            default=settings.DICOM_DEFAULT_CENTER,
            help="centre code for exams that do not exist yet (default: DICOM_DEFAULT_CENTER)",
        )
        parser.add_argument(
            "--quiet-seconds",
            type=int,
            default=settings.EXAM_QUIET_SECONDS,
            help="an exam is complete after this long without a new image",
        )
        parser.add_argument(
            "--allow-any-caller",
            action="store_true",
            help="accept any calling AE title when DICOM_ALLOWED_CALLERS is empty (demo, tests)",
        )

    def handle(
        self, *args, host, port, ae_title, center, quiet_seconds, allow_any_caller, **options
    ):
        try:
            callers_check(settings.DICOM_ALLOWED_CALLERS, allow_any_caller=allow_any_caller)
        except ReceiverConfigError as error:
            raise CommandError(str(error)) from None
        if center and not Center.objects.filter(code=center).exists():
            known = ", ".join(Center.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"unknown centre code {center!r} (known: {known})")
        if quiet_seconds < 0:
            raise CommandError("--quiet-seconds must be 0 or more")
        ssl_context = None
        if (settings.DICOM_TLS_KEY or settings.DICOM_TLS_CA) and not settings.DICOM_TLS_CERT:
            raise CommandError("DICOM_TLS_KEY or DICOM_TLS_CA is set without DICOM_TLS_CERT")
        if settings.DICOM_TLS_CERT:
            try:
                ssl_context = tls_server_context(
                    cert=settings.DICOM_TLS_CERT,
                    key=settings.DICOM_TLS_KEY,
                    ca=settings.DICOM_TLS_CA,
                )
            except (OSError, ValueError) as error:
                raise CommandError(f"cannot load the TLS certificate or key: {error}") from None
        # pynetdicom narrates every PDU at INFO; our own log says what matters.
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)

        spool_dir = settings.DICOM_SPOOL_DIR
        recovered = spool_recover(spool_dir=spool_dir, center_code=center)
        if recovered is not None:
            self.stdout.write(
                f"Spool: {recovered.imported} images imported from a previous run, "
                f"{len(recovered.failed)} files refused"
            )
        try:
            server = receiver_start(
                ae_title=ae_title,
                host=host,
                port=port,
                allowed_callers=settings.DICOM_ALLOWED_CALLERS,
                center_code=center,
                spool_dir=spool_dir,
                ssl_context=ssl_context,
                allow_any_caller=allow_any_caller,
            )
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}") from None
        sweeper = completion_sweeper_start(quiet_seconds=quiet_seconds, stop=self.stop)
        restore = self._stop_on_signals()
        callers = ", ".join(settings.DICOM_ALLOWED_CALLERS) or "any AE title"
        self.stdout.write(
            f"Listening as {ae_title} on {host}:{port} ({'TLS' if ssl_context else 'no TLS'}); "
            f"callers: {callers}; new exams go to {center or 'no centre (refused)'}; "
            f"exams complete after {quiet_seconds} s quiet"
        )
        try:
            while not self.stop.wait(1):
                pass
        finally:
            server.shutdown()
            self.stop.set()
            sweeper.join(timeout=10)
            restore()
        self.stdout.write("Stopped")

    def _stop_on_signals(self):
        """Let SIGTERM and Ctrl-C stop the loop; returns a function restoring the old handlers.

        Signals can only be handled in the main thread; elsewhere `self.stop` is the way.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {
            number: signal.signal(number, lambda *_: self.stop.set())
            for number in (signal.SIGTERM, signal.SIGINT)
        }

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore
