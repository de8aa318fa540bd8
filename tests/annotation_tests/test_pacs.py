"""The DICOM receiver and the PACS retrieval, against real pynetdicom peers on loopback.

Every peer has short timeouts and every server is shut down in `finally`, so a failure
fails fast instead of hanging the suite.
"""

import ipaddress
import json
import socket
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command
from django.db import connection
from pydicom import Dataset
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    RTPlanStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    Verification,
)

from annotation.demo import centers_from_manifest
from annotation.management.commands.dicom_listener import Command as ListenerCommand
from annotation.models import Exam, Image, Patient
from annotation.pacs.receiver import (
    ReceiverConfigError,
    completion_sweep,
    receiver_start,
    tls_server_context,
)
from annotation.patients.identity import patient_pseudonym, pseudonymous_uid
from annotation.signals import exam_completed
from annotation.synthetic import generate_dataset
from ovarian_web.local_services import free_port, port_open, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5
RECEIVER_AE = "OVASCAN"
SCANNER_AE = "SCANNER1"
PACS_AE = "FAKEPACS"
US_CLASSES = [UltrasoundImageStorage, UltrasoundMultiFrameImageStorage]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Two patients' generated exams: (root folder, manifest); made once for the module."""
    root = tmp_path_factory.mktemp("synthetic")
    return root, generate_dataset(root, patients=2, seed=3)


@pytest.fixture
def exams(synthetic, settings, tmp_path):
    """Files grouped by accession number, with the centres created and a private spool."""
    root, manifest = synthetic
    centers_from_manifest(manifest)
    settings.DICOM_SPOOL_DIR = tmp_path / "spool"
    settings.DICOM_AE_TITLE = RECEIVER_AE
    grouped = defaultdict(list)
    for record in manifest["images"]:
        grouped[record["exam"]].append({**record, "path": root / record["dicom"]})
    return grouped


def center_code(synthetic) -> str:
    return synthetic[1]["centers"][0]["code"]


@contextmanager
def receiver(
    synthetic, settings, *, allowed=(SCANNER_AE, PACS_AE), ssl_context=None, any_caller=False
):
    port = free_port()
    server = receiver_start(
        ae_title=RECEIVER_AE,
        host="127.0.0.1",
        port=port,
        allowed_callers=list(allowed),
        center_code=center_code(synthetic),
        spool_dir=settings.DICOM_SPOOL_DIR,
        ssl_context=ssl_context,
        timeout=TIMEOUT,
        allow_any_caller=any_caller,
    )
    try:
        yield port
    finally:
        server.shutdown()


def peer(ae_title: str, sop_classes=US_CLASSES) -> AE:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = TIMEOUT
    ae.add_requested_context(Verification)
    for sop_class in sop_classes:
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
        ae.add_requested_context(sop_class, ImplicitVRLittleEndian)
    return ae


def send(port: int, paths, *, ae_title=SCANNER_AE, sop_classes=US_CLASSES) -> list[Dataset]:
    """C-STORE each file in one association; the response statuses."""
    assoc = peer(ae_title, sop_classes).associate("127.0.0.1", port, ae_title=RECEIVER_AE)
    assert assoc.is_established
    try:
        return [assoc.send_c_store(Path(path)) for path in paths]
    finally:
        assoc.release()


def frames(records) -> int:
    return sum(record["frames"] for record in records)


def test_images_a_scanner_sends_are_imported_and_pseudonymised(synthetic, exams, settings):
    sent = [record for accession in list(exams)[:3] for record in exams[accession]]
    with receiver(synthetic, settings) as port:
        statuses = send(port, [record["path"] for record in sent])

    assert [status.Status for status in statuses] == [0x0000] * len(sent)
    assert Image.objects.count() == frames(sent) > len(sent)  # a cine loop gives many
    assert Exam.objects.count() == 3
    originals = [pydicom.dcmread(record["path"], stop_before_pixels=True) for record in sent]
    for original in originals:
        patient = Patient.objects.get(pseudonym=patient_pseudonym(original.PatientID))
        assert original.PatientID not in patient.pseudonym + patient.identifiers_encrypted
        exam = Exam.objects.get(study_instance_uid=pseudonymous_uid(original.StudyInstanceUID))
        assert exam.study_instance_uid != original.StudyInstanceUID
        assert original.AccessionNumber not in exam.accession_key + exam.identifiers_encrypted
    stored_uids = set(Image.objects.values_list("sop_instance_uid", flat=True))
    assert not stored_uids & {original.SOPInstanceUID for original in originals}
    assert list(settings.DICOM_SPOOL_DIR.iterdir()) == []  # nothing left behind


def test_a_caller_not_on_the_allow_list_is_refused(synthetic, exams, settings):
    with receiver(synthetic, settings, allowed=[SCANNER_AE]) as port:
        intruder = peer("INTRUDER").associate("127.0.0.1", port, ae_title=RECEIVER_AE)
        assert intruder.is_rejected
        assert not intruder.is_established
        known = peer(SCANNER_AE).associate("127.0.0.1", port, ae_title=RECEIVER_AE)
        assert known.is_established
        known.release()
    # An empty list accepts anyone, but only when that was asked for.
    with receiver(synthetic, settings, allowed=[], any_caller=True) as port:
        anyone = peer("ANYONE").associate("127.0.0.1", port, ae_title=RECEIVER_AE)
        assert anyone.is_established
        assert anyone.send_c_echo().Status == 0x0000
        anyone.release()
    assert Image.objects.count() == 0


def test_a_file_without_pixels_is_refused_and_a_duplicate_is_stored_once(
    synthetic, exams, settings
):
    single = next(r for records in exams.values() for r in records if r["frames"] == 1)
    with receiver(synthetic, settings) as port:
        (refused,) = send(port, [get_testdata_file("rtplan.dcm")], sop_classes=[RTPlanStorage])
        assert refused.Status == 0xC000
        assert "pixel" in refused.ErrorComment
        assert Image.objects.count() == 0

        statuses = send(port, [single["path"], single["path"]])
    assert [status.Status for status in statuses] == [0x0000, 0x0000]
    assert Image.objects.count() == 1
    assert list(settings.DICOM_SPOOL_DIR.iterdir()) == []


def test_an_exam_completes_once_after_the_quiet_period(synthetic, exams, settings):
    completed = []

    def on_completed(sender, exam_id, **kwargs):
        completed.append(exam_id)

    exam_completed.connect(on_completed)
    try:
        with receiver(synthetic, settings) as port:
            send(port, [record["path"] for record in next(iter(exams.values()))])
        exam = Exam.objects.get()
        assert exam.last_image_at is not None
        assert exam.acquisition_completed_at is None

        assert completion_sweep(quiet_seconds=3600) == []  # still within the quiet period
        assert completed == []
        assert completion_sweep(quiet_seconds=0) == [exam.pk]
        assert completion_sweep(quiet_seconds=0) == []  # once only
    finally:
        exam_completed.disconnect(on_completed)
    exam.refresh_from_db()
    assert exam.acquisition_completed_at is not None
    assert completed == [exam.pk]


def test_an_open_receiver_is_refused_unless_asked_for(synthetic, settings):
    with pytest.raises(ReceiverConfigError, match="--allow-any-caller"):
        with receiver(synthetic, settings, allowed=[]):
            pass
    settings.DICOM_ALLOWED_CALLERS = []
    port = free_port()
    with pytest.raises(CommandError, match="DICOM_ALLOWED_CALLERS is empty"):
        call_command("dicom_listener", "--host=127.0.0.1", f"--port={port}", stdout=StringIO())
    assert not port_open(port)  # it never listened


def test_the_listener_command_with_allow_any_caller_takes_anyone(synthetic, exams, settings):
    settings.DICOM_ALLOWED_CALLERS = []
    command, port, out = ListenerCommand(), free_port(), StringIO()

    def listen():
        try:
            call_command(
                command,
                "--host=127.0.0.1",
                f"--port={port}",
                "--allow-any-caller",
                "--quiet-seconds=0",
                stdout=out,
            )
        finally:
            connection.close()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        wait_for_port(port, seconds=10)
        anyone = peer("ANYONE").associate("127.0.0.1", port, ae_title=RECEIVER_AE)
        assert anyone.is_established
        assert anyone.send_c_echo().Status == 0x0000
        anyone.release()
    finally:
        command.stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert "callers: any AE title" in out.getvalue()


def test_the_listener_command_imports_and_completes_exams(synthetic, exams, settings):
    settings.DICOM_ALLOWED_CALLERS = [SCANNER_AE]
    command, port, out = ListenerCommand(), free_port(), StringIO()

    def listen():
        try:
            call_command(
                command,
                "--host=127.0.0.1",
                f"--port={port}",
                f"--center={center_code(synthetic)}",
                "--quiet-seconds=0",
                stdout=out,
            )
        finally:
            connection.close()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        wait_for_port(port, seconds=10)
        records = next(iter(exams.values()))
        assert [s.Status for s in send(port, [r["path"] for r in records])] == [0] * len(records)
        deadline = time.monotonic() + 10
        while not Exam.objects.filter(acquisition_completed_at__isnull=False).exists():
            assert time.monotonic() < deadline, "the sweep never completed the exam"
            time.sleep(0.2)
    finally:
        command.stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert Image.objects.count() == frames(records)
    assert f"Listening as {RECEIVER_AE} on 127.0.0.1:{port}" in out.getvalue()


class FakePacs:
    """A Query/Retrieve SCP over generated files: C-FIND by study date and patient ID,
    C-MOVE to the destinations it knows, C-GET back over the association."""

    def __init__(self, paths, destinations=None, allowed=()):
        self.instances = [pydicom.dcmread(path) for path in paths]
        self.destinations = destinations or {}
        self.allowed = list(allowed)

    def study(self, study_uid):
        return [ds for ds in self.instances if ds.StudyInstanceUID == study_uid]

    def on_find(self, event):
        query, seen = event.identifier, set()
        for ds in self.instances:
            if ds.StudyInstanceUID in seen:
                continue
            if query.get("PatientID") and query.PatientID != ds.PatientID:
                continue
            if query.get("StudyDate"):
                start, _, end = query.StudyDate.partition("-")
                if not (start or "0") <= ds.StudyDate <= (end or "99999999"):
                    continue
            seen.add(ds.StudyInstanceUID)
            answer = Dataset()
            answer.QueryRetrieveLevel = "STUDY"
            answer.StudyInstanceUID = ds.StudyInstanceUID
            answer.StudyDate = ds.StudyDate
            answer.PatientID = ds.PatientID
            answer.ModalitiesInStudy = "US"
            yield 0xFF00, answer

    def on_move(self, event):
        if event.move_destination not in self.destinations:
            yield None, None
            return
        yield self.destinations[event.move_destination]
        instances = self.study(event.identifier.StudyInstanceUID)
        yield len(instances)
        for ds in instances:
            yield 0xFF00, ds

    def on_get(self, event):
        instances = self.study(event.identifier.StudyInstanceUID)
        yield len(instances)
        for ds in instances:
            yield 0xFF00, ds

    @contextmanager
    def running(self):
        ae = AE(ae_title=PACS_AE)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        ae.require_calling_aet = self.allowed
        for model in (
            StudyRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelMove,
            StudyRootQueryRetrieveInformationModelGet,
        ):
            ae.add_supported_context(model)
        for sop_class in US_CLASSES:
            ae.add_supported_context(
                sop_class, ExplicitVRLittleEndian, scu_role=False, scp_role=True
            )
            ae.add_requested_context(sop_class, ExplicitVRLittleEndian)  # for C-MOVE
        port = free_port()
        server = ae.start_server(
            ("127.0.0.1", port),
            block=False,
            evt_handlers=[
                (evt.EVT_C_FIND, self.on_find),
                (evt.EVT_C_MOVE, self.on_move),
                (evt.EVT_C_GET, self.on_get),
            ],
        )
        try:
            yield port
        finally:
            server.shutdown()


def retrieve(pacs_port: int, *options: str, as_json: bool = True) -> dict | str:
    out = StringIO()
    call_command(
        "dicom_retrieve",
        "--pacs-host=127.0.0.1",
        f"--pacs-port={pacs_port}",
        f"--pacs-ae={PACS_AE}",
        f"--timeout={TIMEOUT}",
        *(["--json"] if as_json else []),
        *options,
        stdout=out,
    )
    return json.loads(out.getvalue()) if as_json else out.getvalue()


def test_retrieve_moves_a_patients_studies_to_our_receiver(synthetic, exams, settings):
    all_records = [record for records in exams.values() for record in records]
    patient_id = pydicom.dcmread(all_records[-1]["path"], stop_before_pixels=True).PatientID
    wanted = [
        records
        for records in exams.values()
        if pydicom.dcmread(records[0]["path"], stop_before_pixels=True).PatientID == patient_id
    ]
    with receiver(synthetic, settings) as receiver_port:
        pacs = FakePacs(
            [r["path"] for r in all_records],
            destinations={RECEIVER_AE: ("127.0.0.1", receiver_port)},
        )
        with pacs.running() as pacs_port:
            summary = retrieve(pacs_port, f"--patient={patient_id}")

    assert summary["method"] == "move"
    assert summary["studies_found"] == summary["studies_retrieved"] == len(wanted)
    assert summary["images_received"] == sum(len(records) for records in wanted)
    assert summary["images_failed"] == 0
    assert Exam.objects.count() == len(wanted)
    assert Image.objects.count() == sum(frames(records) for records in wanted)
    assert set(Patient.objects.values_list("pseudonym", flat=True)) == {
        patient_pseudonym(patient_id)
    }


def test_retrieve_gets_a_date_range_over_its_own_association(synthetic, exams, settings):
    root, manifest = synthetic
    start, end = date(2020, 1, 1), date(2021, 12, 31)
    wanted = [
        exams[exam["accession_number"]]
        for exam in manifest["exams"]
        if start <= date.fromisoformat(exam["exam_date"]) <= end
    ]
    assert 0 < len(wanted) < len(exams)
    all_paths = [record["path"] for records in exams.values() for record in records]
    with FakePacs(all_paths).running() as pacs_port:
        summary = retrieve(
            pacs_port,
            f"--from={start.isoformat()}",
            f"--to={end.isoformat()}",
            "--get",
            f"--center={center_code(synthetic)}",
        )
        again = retrieve(
            pacs_port,
            f"--from={start}",
            f"--to={end}",
            "--get",
            f"--center={center_code(synthetic)}",
            as_json=False,
        )

    expected = sum(frames(records) for records in wanted)
    assert summary["method"] == "get"
    assert summary["studies_found"] == summary["studies_retrieved"] == len(wanted)
    assert summary["images_received"] == sum(len(records) for records in wanted)
    assert summary["imported"] == expected
    assert summary["failed"] == []
    assert f"0 imported, {expected} already present, 0 refused" in again
    assert Exam.objects.count() == len(wanted)
    assert Image.objects.count() == expected


def test_retrieve_says_clearly_when_the_pacs_is_unreachable_or_refuses(synthetic, exams):
    with pytest.raises(CommandError, match="cannot reach"):
        retrieve(free_port(), "--from=2020-01-01")
    paths = [next(iter(exams.values()))[0]["path"]]
    with FakePacs(paths, allowed=["SOMEONE"]).running() as pacs_port:
        with pytest.raises(CommandError, match="refused the association"):
            retrieve(pacs_port, "--from=2000-01-01")
    with FakePacs(paths).running() as pacs_port:  # it does not know where to send
        with pytest.raises(CommandError, match="does not know the destination"):
            retrieve(pacs_port, "--from=2000-01-01")
    with pytest.raises(CommandError, match="not the whole PACS"):
        retrieve(free_port())


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def echo(port: int, tls_context=None) -> bool:
    """True when a C-ECHO succeeds, with TLS when a client context is given."""
    tls_args = (tls_context, "localhost") if tls_context else None
    assoc = peer(SCANNER_AE).associate("127.0.0.1", port, ae_title=RECEIVER_AE, tls_args=tls_args)
    if not assoc.is_established:
        return False
    try:
        return assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()


def test_tls_accepts_tls_clients_only(synthetic, exams, settings, tmp_path):
    import ssl

    cert, key = self_signed_certificate(tmp_path)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    server = tls_server_context(cert=str(cert), key=str(key), handshake_timeout=0.5)
    with receiver(synthetic, settings, ssl_context=server) as port:
        # A client that connects and says nothing holds the accept loop only briefly.
        with socket.create_connection(("127.0.0.1", port)):
            assert echo(port, client)
        assert not echo(port)  # plain DICOM to a TLS port

    mutual = tls_server_context(cert=str(cert), key=str(key), ca=str(cert))
    with receiver(synthetic, settings, ssl_context=mutual) as port:
        assert not echo(port, client)  # no client certificate
        client.load_cert_chain(certfile=str(cert), keyfile=str(key))
        assert echo(port, client)
