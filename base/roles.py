"""The four roles, the named policies built on them, and what navigation each role sees.

A policy names one kind of access ("coordination", "identifiers") with its roles and the
message a refused user reads. Views use `policy.required`, DRF views `policy.permission`,
the navigation `policy.allows`, templates `can.<name>`: each rule is written once, here.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cached_property, wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    RADIOLOGIST = "radiologist"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    ADMINISTRATOR = "administrator"


ROLE_LABELS = {
    Role.RADIOLOGIST: "Radiologist",
    Role.COORDINATOR: "Study coordinator",
    Role.CLINICIAN: "Clinician",
    Role.ADMINISTRATOR: "Administrator",
}


def roles_set(user, group_names: set[str]) -> set[Role]:
    """Keep the roles that these group names give on the user object, for the request."""
    roles = {role for role in Role if role.value in group_names}
    if user.is_superuser:
        roles.add(Role.ADMINISTRATOR)
    user._roles_cache = roles
    return roles


def user_roles(user) -> set[Role]:
    """The roles of a user; read once per request (with the user itself, when the request
    signed in through auth_backend)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_roles_cache", None)
    if cached is None:
        cached = roles_set(user, set(user.groups.values_list("name", flat=True)))
    return cached


def has_role(user, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


@dataclass(frozen=True, eq=False)
class Policy:
    """Who may do one kind of thing: the roles, and what a refused user is told."""

    name: str
    roles: tuple[Role, ...]
    message: str = "Your role does not give access to this page."

    def allows(self, user) -> bool:
        return has_role(user, *self.roles)

    def worded(self, message: str) -> "Policy":
        """The same roles, refusing with another message (an endpoint whose clients read it)."""
        return replace(self, message=message)

    def required(self, view: Callable) -> Callable:
        """View decorator: anonymous users go to the login page, other roles get 403."""

        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.allows(request.user):
                raise PermissionDenied(self.message)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = self.roles
        wrapped.policy = self
        return wrapped

    @cached_property
    def permission(self) -> type[BasePermission]:
        """The DRF permission class of this policy (for `permission_classes`)."""
        policy = self

        class Allowed(BasePermission):
            message = policy.message

            def has_permission(self, request, view) -> bool:
                return policy.allows(request.user)

        Allowed.__name__ = Allowed.__qualname__ = f"Allowed{policy.name.title().replace(' ', '')}"
        return Allowed


R, CL, CO, A = Role.RADIOLOGIST, Role.CLINICIAN, Role.COORDINATOR, Role.ADMINISTRATOR

# Every signed-in role: the home page, images shown in context, the API documentation.
SIGNED_IN = Policy("signed in", (R, CL, CO, A))
# The image list and viewer (clinicians see images through their exams).
IMAGE_BROWSING = Policy("image browsing", (R, CO, A))
# Clinical truth (pathology), clinical data, exams.
CLINICAL_DATA = Policy("clinical data", (CL, CO, A))
# The encrypted hospital identifiers (patient ID, accession number) and patient search.
IDENTIFIERS = Policy(
    "identifiers", (CL, A), "Hospital identifiers are for clinicians and administrators."
)
# Imports, jobs, annotation sets, reader studies and their results, models, disagreements.
COORDINATION = Policy("coordination", (CO, A), "This is for study coordinators and administrators.")
# Labelling images and reading reader-study cases: radiologists, their own work only.
READING = Policy("reading", (R,), "Labelling and reading are for radiologists.")
# Exam results, reports and the worklist.
RESULTS = Policy(
    "results", (CL, CO, A), "Exam results are for clinicians, coordinators and administrators."
)
# Reviewing (signing off) a report.
REPORT_REVIEW = Policy("report review", (CL,), "Only clinicians review reports.")
# Accounts, the flagged images, the access log, the admin.
ADMINISTRATION = Policy("administration", (A,), "This is for administrators.")
# Accounts that must use two-factor sign-in (when TWO_FACTOR_REQUIRED): they see identifiers.
TWO_FACTOR = Policy("two factor", IDENTIFIERS.roles)

# What the API's generic refusal has always said; its clients read it.
RESOURCE_REFUSAL = "Your role does not give access to this resource."

# The policies by name, for templates: `{% if can.coordination %}`.
POLICIES = {
    policy.name.replace(" ", "_"): policy
    for policy in (
        SIGNED_IN,
        IMAGE_BROWSING,
        CLINICAL_DATA,
        IDENTIFIERS,
        COORDINATION,
        READING,
        RESULTS,
        REPORT_REVIEW,
        ADMINISTRATION,
        TWO_FACTOR,
    )
}

# The last role tuple a policy replaces; kept while inference.dicom_export moves to IDENTIFIERS.
IDENTIFIER_ROLES = IDENTIFIERS.roles


NAVIGATION = [
    # (label, url name, policy)
    ("Home", "home", SIGNED_IN),
    ("Labelling", "annotation:labelling_list", READING),
    ("Annotation sets", "annotation:set_list", COORDINATION),
    ("Reader studies", "studies:study_list", COORDINATION),
    ("Reading", "studies:reading_list", READING),
    ("Images", "annotation:image_list", IMAGE_BROWSING),
    ("Exams", "annotation:exam_list", CLINICAL_DATA),
    ("Worklist", "inference:worklist", RESULTS),
    ("Disagreements", "inference:disagreements", COORDINATION),
    ("Find patient", "annotation:patient_find", IDENTIFIERS),
    ("Data overview", "annotation:overview", COORDINATION),
    ("Models", "inference:model_list", COORDINATION),
    ("Import images", "annotation:import_new", COORDINATION),
    ("Import clinical data", "annotation:clinical_upload", COORDINATION),
    ("Jobs", "annotation:job_list", COORDINATION),
    ("API", "api-docs", SIGNED_IN),
    ("Flagged images", "annotation:flag_list", ADMINISTRATION),
    ("Access log", "access_log", ADMINISTRATION),
    ("Admin", "admin:index", ADMINISTRATION),
]


def role_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    roles = user_roles(user) if user is not None else set()
    navigation = [(label, name) for label, name, policy in NAVIGATION if roles & set(policy.roles)]
    labels = [ROLE_LABELS[role] for role in Role if role in roles]
    can = {name: bool(roles & set(policy.roles)) for name, policy in POLICIES.items()}
    return {
        "navigation": navigation,
        "role_labels": labels,
        "roles": {r.value for r in roles},
        "can": can,
    }
