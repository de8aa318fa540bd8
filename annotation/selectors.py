"""Reads of the imaging data, shaped for the pages and the API (a fixed number of queries)."""

from django.db.models import Count, Prefetch, Q, QuerySet

from annotation.models import Center, Exam, Image, PathologyOutcome, Patient
from annotation.patients.identity import IdentifierError, decrypt_identifiers, patient_pseudonym
from base.jobs import job_kinds
from base.roles import ADMINISTRATION, IDENTIFIERS


def exam_list(*, center: str = "", outcome: str = "") -> QuerySet[Exam]:
    exams = (
        Exam.objects.select_related("patient", "center", "pathology", "features")
        .annotate(image_count=Count("images"))
        .order_by("-exam_date", "pk")
    )
    if center:
        exams = exams.filter(center__code=center)
    if outcome == "none":
        exams = exams.filter(pathology__isnull=True)
    elif outcome in PathologyOutcome.values:
        exams = exams.filter(pathology__outcome=outcome)
    return exams


def exam_detail(*, exam_id: int) -> Exam:
    """The exam with its images; a cine loop appears once, as its first frame."""
    return (
        Exam.objects.select_related("patient", "center", "pathology", "features")
        .prefetch_related(
            Prefetch(
                "images",
                queryset=Image.objects.filter(frame_index=0, hidden=False),
                to_attr="shown",
            ),
            "patient__ca125",
        )
        .get(pk=exam_id)
    )


def images_visible(user) -> QuerySet[Image]:
    """Images a user may see: flagged ones (identifying text) only by administrators."""
    if ADMINISTRATION.allows(user):
        return Image.objects.all()
    return Image.objects.filter(hidden=False)


def image_list(*, user, center: str = "", first_frames: bool = True) -> QuerySet[Image]:
    """With first_frames, a cine loop is one item (its first frame), opened to play."""
    images = images_visible(user).select_related("exam__center").order_by("-exam__exam_date", "pk")
    if first_frames:
        images = images.filter(frame_index=0)
    if center:
        images = images.filter(exam__center__code=center)
    return images


def image_frames(*, image: Image) -> list[int]:
    """Primary keys of every frame of the image's cine loop, in order ([image.pk] if none)."""
    if image.frame_count == 1 or not image.sop_instance_uid:
        return [image.pk]
    frames = Image.objects.filter(sop_instance_uid=image.sop_instance_uid)
    return list(frames.order_by("frame_index").values_list("pk", flat=True))


def patient_detail(*, patient_id: int) -> Patient:
    return Patient.objects.prefetch_related(
        "exams__center", "exams__pathology", "exams__features", "ca125"
    ).get(pk=patient_id)


def patient_find(*, hospital_id: str) -> Patient | None:
    """Find a patient by the hospital ID; it is hashed, never stored or logged."""
    if not hospital_id.strip():
        return None
    return Patient.objects.filter(pseudonym=patient_pseudonym(hospital_id)).first()


def patient_identifiers(*, patient: Patient, user) -> dict[str, str]:
    """Decrypted identifiers for the clinical roles; empty for everyone else."""
    if not IDENTIFIERS.allows(user):
        return {}
    try:
        return decrypt_identifiers(patient.identifiers_encrypted)
    except IdentifierError:
        return {"error": "unreadable with the current IDENTIFIER_KEY"}


def data_overview() -> dict:
    centers = Center.objects.annotate(
        exam_count=Count("exams", distinct=True),
        image_count=Count("exams__images", distinct=True),
        patient_count=Count("exams__patient", distinct=True),
        malignant=Count("exams", filter=Q(exams__pathology__outcome="malignant"), distinct=True),
        borderline=Count("exams", filter=Q(exams__pathology__outcome="borderline"), distinct=True),
        benign=Count("exams", filter=Q(exams__pathology__outcome="benign"), distinct=True),
    )
    return {
        "centers": list(centers),
        "patients": Patient.objects.count(),
        "exams": Exam.objects.count(),
        "images": Image.objects.count(),
        "patients_with_priors": Patient.objects.annotate(n=Count("exams")).filter(n__gt=1).count(),
    }


def job_list(limit: int = 50) -> list:
    """The latest jobs of every kind, newest first: every registered job model, so the jobs of
    higher layers (training, scoring) are listed without this layer importing them."""
    jobs = []
    for model in job_kinds():
        related = [
            field.name
            for field in model._meta.concrete_fields
            if field.many_to_one and field.name != "created_by"
        ]
        jobs.extend(model.objects.select_related(*related).order_by("-created_at")[:limit])
    return sorted(jobs, key=lambda job: job.created_at, reverse=True)[:limit]
