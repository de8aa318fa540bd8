"""Asking a PACS for ultrasound studies: C-FIND at study level, then C-MOVE or C-GET.

C-MOVE asks the PACS to send each study to an AE title it knows (ours by default), so our
listener (`dicom_listener`) must be running and registered in the PACS under that title; the
listener imports what arrives. C-GET brings the images back over our own association and they
are imported here, through the same handler as the listener's.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from pydicom import Dataset, uid
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from annotation.pacs.receiver import (
    RECEIVED_TRANSFER_SYNTAXES,
    ULTRASOUND_STORAGE,
    StoreTally,
    store_received,
)

logger = logging.getLogger(__name__)

PENDING = (0xFF00, 0xFF01)
SUCCESS = 0x0000
MOVE_DESTINATION_UNKNOWN = 0xA801
UNCOMPRESSED = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
]


class PacsError(Exception):
    """The PACS cannot be reached, refuses the association, or fails a whole request."""


@dataclass
class Pacs:
    host: str
    port: int
    ae_title: str

    def __str__(self) -> str:
        return f"{self.ae_title} at {self.host}:{self.port}"


@dataclass
class RetrieveSummary:
    """What a retrieval did. With C-MOVE the listener imports, so `imported` and
    `duplicates` stay None and `images_received` counts what the PACS says it sent."""

    method: str  # "move" or "get"
    studies_found: int = 0
    studies_retrieved: int = 0
    images_received: int = 0
    images_failed: int = 0
    imported: int | None = None
    duplicates: int | None = None
    failed: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def study_date_range(date_from: date | None, date_to: date | None) -> str:
    """A DICOM date range: `YYYYMMDD-YYYYMMDD`, open at either end; "" matches any date."""
    if date_from is None and date_to is None:
        return ""
    start = date_from.strftime("%Y%m%d") if date_from else ""
    end = date_to.strftime("%Y%m%d") if date_to else ""
    return f"{start}-{end}"


def _scu_ae(*, ae_title: str, use_get: bool, timeout: float) -> AE:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    ae.connection_timeout = timeout
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    if not use_get:
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        return ae
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    # The PACS can only send an instance in a transfer syntax we accepted for its class, and
    # accepts one syntax per context: so one context per compressed syntax, whichever the
    # PACS holds the images in (7 classes x 13 contexts stays below the 128 allowed).
    for sop_class in ULTRASOUND_STORAGE:
        ae.add_requested_context(sop_class, UNCOMPRESSED)
        for syntax in RECEIVED_TRANSFER_SYNTAXES:
            if syntax not in UNCOMPRESSED:
                ae.add_requested_context(sop_class, syntax)
    return ae


def _associate(ae: AE, pacs: Pacs, **kwargs) -> Association:
    assoc = ae.associate(pacs.host, pacs.port, ae_title=pacs.ae_title, **kwargs)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise PacsError(
            f"the PACS {pacs} refused the association "
            f"(is our AE title {ae.ae_title} registered there?)"
        )
    raise PacsError(f"cannot reach the PACS {pacs}")


def _is_ultrasound(identifier: Dataset) -> bool:
    # Some PACS ignore ModalitiesInStudy as a key but return it: filter here as well.
    # One that returns nothing for it is trusted to have matched.
    modalities = identifier.get("ModalitiesInStudy")
    if not modalities:
        return True
    values = [modalities] if isinstance(modalities, str) else list(modalities)
    return "US" in values


def _study_query(*, study_date: str, patient_id: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    query.StudyDate = study_date
    query.PatientID = patient_id
    query.ModalitiesInStudy = "US"
    query.AccessionNumber = ""
    query.NumberOfStudyRelatedInstances = ""
    return query


def studies_find(assoc: Association, *, study_date: str, patient_ids: list[str]) -> list[Dataset]:
    """The ultrasound studies matching the date range, for each patient ID (or any patient
    when there is none); each study once, in the order the PACS answered."""
    found: dict[str, Dataset] = {}
    for patient_id in patient_ids or [""]:
        query = _study_query(study_date=study_date, patient_id=patient_id)
        for status, identifier in assoc.send_c_find(
            query, StudyRootQueryRetrieveInformationModelFind
        ):
            if "Status" not in status:
                raise PacsError("the PACS stopped answering the query (timeout or abort)")
            if status.Status in PENDING:
                study_uid = identifier.get("StudyInstanceUID") if identifier else None
                if study_uid and _is_ultrasound(identifier):
                    found.setdefault(str(study_uid), identifier)
            elif status.Status != SUCCESS:
                raise PacsError(f"the PACS refused the query: status 0x{status.Status:04X}")
    return list(found.values())


def _study_retrieve(
    assoc: Association, study: Dataset, *, use_get: bool, move_destination: str
) -> Dataset:
    """Run one C-MOVE or C-GET for the study; returns the final response status."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study.StudyInstanceUID
    if use_get:
        responses = assoc.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet)
    else:
        responses = assoc.send_c_move(
            identifier, move_destination, StudyRootQueryRetrieveInformationModelMove
        )
    final = None
    for status, _ in responses:
        if "Status" not in status:
            raise PacsError("the PACS stopped answering during the retrieval (timeout or abort)")
        if status.Status not in PENDING:
            final = status
    if final is None:
        raise PacsError("the PACS ended the retrieval without a final status")
    if final.Status == MOVE_DESTINATION_UNKNOWN:
        raise PacsError(
            f"the PACS does not know the destination {move_destination!r}: register that AE "
            "title there with the host and port our listener runs on"
        )
    return final


def _count(status: Dataset, keyword: str) -> int:
    return int(status.get(keyword) or 0)


def studies_retrieve(
    *,
    pacs: Pacs,
    calling_ae_title: str,
    study_date: str,
    patient_ids: list[str],
    use_get: bool,
    move_destination: str,
    center_code: str | None,
    spool_dir: Path,
    timeout: float = 30,
) -> RetrieveSummary:
    """Find the ultrasound studies and retrieve each one; raises PacsError when the PACS cannot
    be reached, refuses us or fails the query. A study whose retrieval fails is reported in
    `failed` and the others still come."""
    ae = _scu_ae(ae_title=calling_ae_title, use_get=use_get, timeout=timeout)
    tally = StoreTally()
    options: dict = {}
    if use_get:
        options["ext_neg"] = [
            build_role(sop_class, scp_role=True) for sop_class in ULTRASOUND_STORAGE
        ]
        options["evt_handlers"] = [
            (evt.EVT_C_STORE, store_received, [center_code, spool_dir, tally])
        ]
    summary = RetrieveSummary(method="get" if use_get else "move")
    assoc = _associate(ae, pacs, **options)
    try:
        studies = studies_find(assoc, study_date=study_date, patient_ids=patient_ids)
        summary.studies_found = len(studies)
        logger.info("%d ultrasound studies found on %s", len(studies), pacs)
        for number, study in enumerate(studies, start=1):
            final = _study_retrieve(
                assoc, study, use_get=use_get, move_destination=move_destination
            )
            sent = _count(final, "NumberOfCompletedSuboperations") + _count(
                final, "NumberOfWarningSuboperations"
            )
            summary.images_failed += _count(final, "NumberOfFailedSuboperations")
            if not use_get:
                summary.images_received += sent
            if final.Status in (SUCCESS, 0xB000):  # B000: some sub-operations failed
                summary.studies_retrieved += 1
            else:
                summary.failed.append(
                    {
                        "study": f"{number} of {len(studies)} ({study.get('StudyDate', '')})",
                        "error": f"retrieval status 0x{final.Status:04X}",
                    }
                )
    finally:
        if assoc.is_established:
            assoc.release()
    if use_get:
        summary.images_received = tally.received
        summary.imported = tally.imported
        summary.duplicates = tally.duplicates
        summary.failed.extend(tally.failed)
    return summary
