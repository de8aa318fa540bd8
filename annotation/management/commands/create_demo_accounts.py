from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from base.groups import groups_ensure
from base.roles import Role

# Demo accounts, one per role. The passwords are printed on purpose: this is the demo.
DEMO_ACCOUNTS = [
    ("radiologist", Role.RADIOLOGIST, "demo-radiologist"),
    ("coordinator", Role.COORDINATOR, "demo-coordinator"),
    ("clinician", Role.CLINICIAN, "demo-clinician"),
    ("admin", Role.ADMINISTRATOR, "demo-admin"),
]


class Command(BaseCommand):
    help = "Create one demo account per role (idempotent) and print the credentials."

    def handle(self, *args, **options):
        groups_ensure()
        users = get_user_model()
        self.stdout.write("Demo accounts (username / password / role):")
        for username, role, password in DEMO_ACCOUNTS:
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
            user.is_staff = role == Role.ADMINISTRATOR
            user.is_superuser = role == Role.ADMINISTRATOR
            user.save()
            user.groups.set([Group.objects.get(name=role.value)])
            self.stdout.write(f"  {username:<12} {password:<18} {role.value}")
