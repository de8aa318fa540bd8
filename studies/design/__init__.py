"""Designing a reader study: planning its size, choosing its cases, the forms and pages."""
