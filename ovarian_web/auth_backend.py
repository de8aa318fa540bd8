"""Signing in with Django's ModelBackend, reading the user's roles in the same query.

Every request loads its user; the role check that nearly every view makes then needed a
second query for the user's groups. Here one query (a join) gives both.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import F

from .roles import roles_set


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        rows = list(
            get_user_model()
            ._default_manager.filter(pk=user_id)
            .annotate(group_name=F("groups__name"))
        )
        if not rows or not self.user_can_authenticate(rows[0]):
            return None
        user = rows[0]
        roles_set(user, {row.group_name for row in rows if row.group_name})
        return user
