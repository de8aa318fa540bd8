"""Importing: image files and archives into exams, clinical CSVs, import jobs, retention."""
