"""Factories shared by the test packages."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from annotation.models import Center, Exam, Patient
from annotation.patients.identity import patient_pseudonym
from base.groups import groups_ensure

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            groups_ensure()
            self.groups.add(Group.objects.get(name=str(extracted)))
        self.save()


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"C{n}")
    name = factory.Sequence(lambda n: f"Centre {n}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    pseudonym = factory.Sequence(lambda n: patient_pseudonym(f"HOSP-{n:06d}"))
    birth_year = 1970


class ExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exam

    patient = factory.SubFactory(PatientFactory)
    center = factory.SubFactory(CenterFactory)
    exam_date = datetime.date(2024, 3, 11)
