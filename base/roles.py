"""The four roles, how a request is checked against them, and what navigation each sees."""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

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

# Roles that may see clinical truth (pathology) and the encrypted PACS identifiers.
CLINICAL_DATA_ROLES = (Role.CLINICIAN, Role.COORDINATOR, Role.ADMINISTRATOR)
IDENTIFIER_ROLES = (Role.CLINICIAN, Role.ADMINISTRATOR)
IMAGE_ROLES = (Role.RADIOLOGIST, Role.CLINICIAN, Role.COORDINATOR, Role.ADMINISTRATOR)
JOB_ROLES = (Role.COORDINATOR, Role.ADMINISTRATOR)
IMPORT_ROLES = (Role.COORDINATOR, Role.ADMINISTRATOR)


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


def role_required(*roles: Role) -> Callable:
    """View decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


class HasRole(BasePermission):
    """DRF permission: the view's `allowed_roles` (or, per action, `action_roles`)."""

    message = "Your role does not give access to this resource."

    def has_permission(self, request, view) -> bool:
        action_roles = getattr(view, "action_roles", {})
        roles = action_roles.get(getattr(view, "action", None), getattr(view, "allowed_roles", ()))
        return has_role(request.user, *roles)


NAVIGATION = [
    # (label, url name, roles that see it)
    ("Home", "home", IMAGE_ROLES),
    ("Labelling", "annotation:labelling_list", (Role.RADIOLOGIST,)),
    ("Annotation sets", "annotation:set_list", (Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Reader studies", "studies:study_list", (Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Reading", "studies:reading_list", (Role.RADIOLOGIST,)),
    ("Images", "annotation:image_list", (Role.RADIOLOGIST, Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Exams", "annotation:exam_list", CLINICAL_DATA_ROLES),
    ("Worklist", "inference:worklist", (Role.CLINICIAN, Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Disagreements", "inference:disagreements", (Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Find patient", "annotation:patient_find", IDENTIFIER_ROLES),
    ("Data overview", "annotation:overview", (Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Models", "inference:model_list", (Role.COORDINATOR, Role.ADMINISTRATOR)),
    ("Import images", "annotation:import_new", IMPORT_ROLES),
    ("Import clinical data", "annotation:clinical_upload", IMPORT_ROLES),
    ("Jobs", "annotation:job_list", JOB_ROLES),
    ("API", "api-docs", IMAGE_ROLES),
    ("Flagged images", "annotation:flag_list", (Role.ADMINISTRATOR,)),
    ("Access log", "access_log", (Role.ADMINISTRATOR,)),
    ("Admin", "admin:index", (Role.ADMINISTRATOR,)),
]


def role_context(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    roles = user_roles(user) if user is not None else set()
    navigation = [(label, name) for label, name, allowed in NAVIGATION if roles & set(allowed)]
    labels = [ROLE_LABELS[role] for role in Role if role in roles]
    return {"navigation": navigation, "role_labels": labels, "roles": {r.value for r in roles}}
