"""Cases of imported reader studies that are accession numbers become their exams'
pseudonymous keys, with the number kept only encrypted (studies/reading/imported.py)."""

from django.db import migrations

from annotation.patients.identity import (
    IdentifierError,
    accession_key,
    decrypt_identifiers,
    encrypt_identifiers,
)

CHUNK = 500


def _pseudonymise(apps, schema_editor):
    ImportedReading = apps.get_model("studies", "ImportedReading")
    Exam = apps.get_model("annotation", "Exam")
    clear = ImportedReading.objects.filter(case_encrypted="")
    keys = {}
    for case in clear.values_list("case", flat=True).distinct().iterator():
        try:
            keys[case] = accession_key(case)
        except IdentifierError:
            continue
    wanted = sorted(set(keys.values()))
    known = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        known.update(
            Exam.objects.filter(accession_key__in=chunk).values_list("accession_key", flat=True)
        )
    for case, key in keys.items():
        if key in known:
            clear.filter(case=case).update(
                case=key, case_encrypted=encrypt_identifiers({"accession_number": case})
            )


def _restore(apps, schema_editor):
    ImportedReading = apps.get_model("studies", "ImportedReading")
    hidden = ImportedReading.objects.exclude(case_encrypted="")
    for token in hidden.values_list("case_encrypted", flat=True).distinct().iterator():
        case = decrypt_identifiers(token)["accession_number"]
        hidden.filter(case_encrypted=token).update(case=case, case_encrypted="")


class Migration(migrations.Migration):
    # The field itself (case_encrypted) is added by 0003.
    dependencies = [
        ("annotation", "0005_label_keys_use_composite_indexes"),
        ("studies", "0003_reading_revisions_and_ai_shown"),
    ]

    operations = [migrations.RunPython(_pseudonymise, _restore)]
