import pytest

from annotation import services
from annotation.patients.identity import (
    IdentifierError,
    decrypt_identifiers,
    encrypt_identifiers,
    patient_pseudonym,
    pseudonymous_uid,
)
from annotation.selectors import patient_find, patient_identifiers
from base.roles import Role


def test_pseudonyms_are_keyed_stable_and_case_insensitive(settings):
    first = patient_pseudonym("H-004217")
    assert first == patient_pseudonym(" h-004217 ")
    assert "004217" not in first and len(first) == 64
    settings.PSEUDONYM_KEY = "another key of enough length"
    assert patient_pseudonym("H-004217") != first


def test_pseudonymous_uids_are_valid_dicom_uids():
    uid = pseudonymous_uid("1.2.840.113619.2.55.3.604688119.971.1234567890.123")
    assert uid.startswith("2.25.") and len(uid) <= 64 and uid.replace(".", "").isdigit()
    assert uid == pseudonymous_uid("1.2.840.113619.2.55.3.604688119.971.1234567890.123")


def test_identifiers_round_trip_and_fail_clearly_under_another_key(settings):
    token = encrypt_identifiers({"patient_id": "H-1"})
    assert "H-1" not in token
    assert decrypt_identifiers(token) == {"patient_id": "H-1"}
    settings.IDENTIFIER_KEY = "0" * 43 + "="
    with pytest.raises(IdentifierError, match="another IDENTIFIER_KEY"):
        decrypt_identifiers(token)


@pytest.mark.django_db
def test_a_patient_is_found_by_hospital_id_which_is_stored_only_encrypted(make_user):
    patient = services.patient_get_or_create(hospital_id="H-777001", birth_year=1980)
    assert services.patient_get_or_create(hospital_id="H-777001", birth_year=1980) == patient
    assert patient_find(hospital_id="H-777001") == patient
    assert patient_find(hospital_id="H-777002") is None
    assert "H-777001" not in patient.pseudonym + patient.identifiers_encrypted
    clinician, radiologist = make_user(Role.CLINICIAN), make_user(Role.RADIOLOGIST)
    assert patient_identifiers(patient=patient, user=clinician) == {"patient_id": "H-777001"}
    assert patient_identifiers(patient=patient, user=radiologist) == {}
