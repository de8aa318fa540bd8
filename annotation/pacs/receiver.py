"""Our DICOM C-STORE SCP: what a scanner or PACS sends is imported like any other file.

Each received instance is written to DICOM_SPOOL_DIR (under a temporary name, renamed once
complete), imported with `import_paths` in the association's own thread, and removed. The
sender learns the outcome from the C-STORE status:

- 0x0000 Success: stored, or already there (a duplicate must not make the sender retry forever);
- 0xC000 Cannot understand: the importer refused the file (no pixel data, unreadable, ...);
- 0xA700 Out of resources: our side failed (disk, database, unknown centre); a retry may work.

An exam counts as complete once no image has arrived for it during the quiet period:
`completion_sweep`, run every few seconds by the listener, marks it and sends
`annotation.signals.exam_completed`.
"""

import logging
import os
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from pydicom import Dataset, uid
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification
from pynetdicom.transport import ThreadedAssociationServer

from annotation.importing.images import ImportFailure, ImportReport, import_paths
from annotation.services import exams_complete_quiet

logger = logging.getLogger(__name__)


class ReceiverConfigError(ValueError):
    """The receiver would start open to anyone without being asked to."""


STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_CANNOT_UNDERSTAND = 0xC000
PARTIAL_PREFIX = ".partial-"

# What pydicom (with the pylibjpeg plugins) decodes, so what we accept. A sender that only
# offers video (MPEG, HEVC) or a JPIP reference hears "no" at association time instead of
# getting a failure for every image.
RECEIVED_TRANSFER_SYNTAXES = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLSLossless,
    uid.JPEGLSNearLossless,
    uid.JPEG2000Lossless,
    uid.JPEG2000,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
    uid.HTJ2K,
    uid.RLELossless,
]

# The storage SOP classes pelvic ultrasound arrives as; C-GET must name them one by one.
ULTRASOUND_STORAGE = [
    uid.UltrasoundImageStorage,
    uid.UltrasoundMultiFrameImageStorage,
    uid.EnhancedUSVolumeStorage,
    uid.SecondaryCaptureImageStorage,
    uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
    uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
]


@dataclass
class StoreTally:
    """What a receiver or a retrieval took in; association threads add to it concurrently."""

    received: int = 0
    imported: int = 0
    duplicates: int = 0
    failed: list[dict] = field(default_factory=list)
    exam_ids: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, report: ImportReport | None, error: str = "") -> None:
        with self._lock:
            self.received += 1
            if report is None:
                self.failed.append({"file": "(received instance)", "error": error})
                return
            self.imported += report.imported
            self.duplicates += report.duplicates
            self.failed.extend(report.failed)
            self.exam_ids |= report.exam_ids


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # LO: at most 64 characters
    return status


def _release_connection() -> None:
    # pynetdicom runs handlers in its association threads, each holding its own Django
    # connection that nothing else would ever close. Inside a transaction (a C-GET handler
    # runs in the caller's thread) the connection is the caller's to keep.
    if not connection.in_atomic_block:
        connection.close()


def _spool(event: evt.Event, spool_dir: Path) -> Path:
    """Write the instance, with its file meta, to a complete file in spool_dir."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    final = spool_dir / f"{uuid.uuid4().hex}.dcm"
    # Not deleted on close: renamed once complete, or removed on any failure.
    handle = tempfile.NamedTemporaryFile(
        dir=spool_dir, prefix=PARTIAL_PREFIX, suffix=".dcm", delete=False
    )
    try:
        with handle:
            handle.write(event.encoded_dataset(include_meta=True))
        os.replace(handle.name, final)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return final


def store_received(
    event: evt.Event,
    center_code: str | None,
    spool_dir: Path,
    tally: StoreTally | None = None,
) -> Dataset:
    """EVT_C_STORE handler: spool the instance, import it, remove it; returns the status.

    A refused file gets 0xC000 with the importer's reason as ErrorComment; a failure on our
    side 0xA700 (the sender may retry); stored or already present 0x0000.
    """
    caller = event.assoc.remote["ae_title"]  # the scanner, or the PACS answering our C-GET
    try:
        path = _spool(event, spool_dir)
    except OSError as error:
        logger.error("cannot spool an instance from %s: %s", caller, error)
        if tally is not None:
            tally.add(None, f"spool: {error}")
        return _status(STATUS_OUT_OF_RESOURCES, "cannot write the instance")
    try:
        report = import_paths(paths=[path], center_code=center_code)
    except ImportFailure as error:  # the centre is unknown: fix that, and a retry works
        logger.error("cannot import from %s: %s", caller, error)
        if tally is not None:
            tally.add(None, str(error))
        return _status(STATUS_OUT_OF_RESOURCES, str(error))
    except Exception as error:  # the database or the disk; the sender should try again
        logger.exception("import of an instance from %s failed", caller)
        if tally is not None:
            tally.add(None, f"internal error: {error}")
        return _status(STATUS_OUT_OF_RESOURCES, "internal error")
    finally:
        path.unlink(missing_ok=True)
        _release_connection()
    if tally is not None:
        tally.add(report)
    if report.failed and not (report.imported or report.duplicates):
        reason = report.failed[0]["error"]
        logger.warning("refused an instance from %s: %s", caller, reason)
        return _status(STATUS_CANNOT_UNDERSTAND, reason)
    logger.info(
        "stored an instance from %s: %d new images, %d already present, exam %s",
        caller,
        report.imported,
        report.duplicates,
        ", ".join(str(pk) for pk in sorted(report.exam_ids)),
    )
    return _status(STATUS_SUCCESS)


def spool_recover(*, spool_dir: Path, center_code: str | None) -> ImportReport | None:
    """Import complete files a stopped listener left in the spool; drop partial ones.

    Their senders never heard "success", so they may send them again: a duplicate then.
    """
    if not spool_dir.is_dir():
        return None
    for partial in spool_dir.glob(f"{PARTIAL_PREFIX}*"):
        partial.unlink(missing_ok=True)
    leftovers = sorted(spool_dir.glob("*.dcm"))
    if not leftovers:
        return None
    report = import_paths(paths=leftovers, center_code=center_code)
    for path in leftovers:
        path.unlink(missing_ok=True)
    return report


class _HandshakeTimeoutContext(ssl.SSLContext):
    """pynetdicom shakes hands inside its accept loop, blocking: a client that connects and
    stays silent would stop all reception. This bounds the handshake."""

    handshake_timeout: float = 30.0

    def wrap_socket(self, sock, *args, **kwargs):
        sock.settimeout(self.handshake_timeout)
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        wrapped.settimeout(None)  # back to blocking, as pynetdicom expects
        return wrapped


def tls_server_context(
    *, cert: str, key: str | None = None, ca: str | None = None, handshake_timeout: float = 30
) -> ssl.SSLContext:
    """Server-side TLS (1.2 or later) with our certificate; with `ca`, clients must present a
    certificate signed by it (mutual TLS), otherwise any client may connect."""
    context = _HandshakeTimeoutContext(ssl.PROTOCOL_TLS_SERVER)
    context.handshake_timeout = handshake_timeout
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=cert, keyfile=key or None)
    if ca:
        context.load_verify_locations(cafile=ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def callers_check(allowed_callers: list[str], *, allow_any_caller: bool) -> None:
    """Refuse an empty allow-list unless an open receiver was asked for explicitly."""
    if not allowed_callers and not allow_any_caller:
        raise ReceiverConfigError(
            "DICOM_ALLOWED_CALLERS is empty, so any caller could send images: list the AE "
            "titles of your scanners and PACS, or start with --allow-any-caller"
        )


def receiver_ae(*, ae_title: str, allowed_callers: list[str], timeout: float = 30) -> AE:
    """An AE accepting C-ECHO and every storage SOP class in the transfer syntaxes we decode.

    Non-image classes (an RT Plan, a report) are accepted too, so that each such instance
    gets a clear refusal status instead of the whole association failing. `allowed_callers`
    is the allow-list of calling AE titles; empty accepts any caller (receiver_start
    allows that only when asked).
    """
    ae = AE(ae_title=ae_title)
    ae.require_calling_aet = list(allowed_callers)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = 2 * timeout
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, RECEIVED_TRANSFER_SYNTAXES)
    return ae


def _log_association(event: evt.Event, what: str) -> None:
    requestor = event.assoc.requestor
    logger.info(
        "association %s: %s at %s:%s", what, requestor.ae_title, requestor.address, requestor.port
    )


def receiver_start(
    *,
    ae_title: str,
    host: str,
    port: int,
    allowed_callers: list[str],
    center_code: str | None,
    spool_dir: Path,
    ssl_context: ssl.SSLContext | None = None,
    tally: StoreTally | None = None,
    timeout: float = 30,
    allow_any_caller: bool = False,
) -> ThreadedAssociationServer:
    """Listen on (host, port) in background threads; stop with `.shutdown()`.

    Raises ReceiverConfigError for an empty `allowed_callers` unless `allow_any_caller`,
    and OSError when the port cannot be bound.
    """
    callers_check(allowed_callers, allow_any_caller=allow_any_caller)
    ae = receiver_ae(ae_title=ae_title, allowed_callers=allowed_callers, timeout=timeout)
    handlers = [
        (evt.EVT_C_STORE, store_received, [center_code, spool_dir, tally]),
        (evt.EVT_ACCEPTED, _log_association, ["accepted"]),
        (evt.EVT_REJECTED, _log_association, ["rejected"]),
        (evt.EVT_RELEASED, _log_association, ["released"]),
        (evt.EVT_ABORTED, _log_association, ["aborted"]),
    ]
    return ae.start_server(
        (host, port), block=False, ssl_context=ssl_context, evt_handlers=handlers
    )


def completion_sweep(quiet_seconds: int) -> list[int]:
    """Mark complete, and announce, every exam with no new image for quiet_seconds.

    Returns the exam ids completed by this sweep (each exam is completed only once).
    """
    completed = exams_complete_quiet(quiet_seconds=quiet_seconds)
    if completed:
        logger.info("exams complete after %d s quiet: %s", quiet_seconds, completed)
    return completed


def sweep_interval(quiet_seconds: int) -> float:
    """How often to sweep: a fraction of the quiet period, between half a second and 5 s."""
    return min(5.0, max(0.5, quiet_seconds / 4))


def completion_sweeper_start(
    *, quiet_seconds: int, stop: threading.Event, interval: float | None = None
) -> threading.Thread:
    """Run `completion_sweep` every `interval` seconds in a daemon thread until `stop` is set."""
    every = sweep_interval(quiet_seconds) if interval is None else interval

    def run() -> None:
        while not stop.wait(every):
            try:
                completion_sweep(quiet_seconds)
            except Exception:  # the database may be back next time; keep sweeping
                logger.exception("completion sweep failed")
            finally:
                connection.close()

    thread = threading.Thread(target=run, name="dicom-completion-sweep", daemon=True)
    thread.start()
    return thread
