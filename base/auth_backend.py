"""Signing in with Django's ModelBackend, reading the user's roles in the same query.

Every request loads its user; the role check that nearly every view makes then needed a
second query for the user's groups. Here one query (a join) gives both. It is written in
SQL because it runs on every request: the ORM took longer to build it than the database
to answer (profiled under load).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group

from base.roles import roles_set


def _user_with_groups_sql() -> str:
    user_model = get_user_model()
    memberships = user_model.groups.through._meta.db_table
    return (
        f"SELECT u.*, g.name AS group_name FROM {user_model._meta.db_table} u"  # noqa: S608
        f" LEFT JOIN {memberships} m ON m.user_id = u.id"
        f" LEFT JOIN {Group._meta.db_table} g ON g.id = m.group_id WHERE u.id = %s"
    )


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        rows = list(get_user_model()._default_manager.raw(_user_with_groups_sql(), [user_id]))
        if not rows or not self.user_can_authenticate(rows[0]):
            return None
        user = rows[0]
        roles_set(user, {row.group_name for row in rows if row.group_name})
        return user
