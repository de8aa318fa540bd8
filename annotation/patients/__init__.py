"""Patients: keyed pseudonyms, encrypted identifiers and the patient's timeline."""
