"""The four roles as Django groups, with the model permissions each needs in the admin."""

from django.contrib.auth.models import Group, Permission

from base.roles import Role

# Model permissions per role: (app label, codename prefix list). The administrator gets all.
ROLE_PERMISSIONS = {
    Role.RADIOLOGIST: {"annotation": ["view_image"]},
    Role.CLINICIAN: {
        "annotation": [
            "view_patient",
            "view_exam",
            "view_image",
            "view_pathologyresult",
            "view_ca125measurement",
            "view_lesionfeatures",
        ],
    },
    Role.COORDINATOR: {
        "annotation": [
            "view_center",
            "view_patient",
            "view_exam",
            "view_image",
            "view_pathologyresult",
            "view_ca125measurement",
            "view_lesionfeatures",
            "view_demodatajob",
        ],
    },
}


def groups_ensure(**kwargs) -> None:
    """Create the role groups and set their permissions; safe to run after every migrate."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        if role == Role.ADMINISTRATOR:
            permissions = Permission.objects.filter(
                content_type__app_label__in=[
                    *("annotation", "inference", "studies", "auth", "ovarian_web"),
                    # Sign-in lockouts (unlock), API tokens (revoke), two-factor devices.
                    *("axes", "knox", "otp_totp"),
                ]
            )
        else:
            permissions = Permission.objects.none()
            for app_label, codenames in ROLE_PERMISSIONS.get(role, {}).items():
                permissions = permissions | Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
        group.permissions.set(permissions)
