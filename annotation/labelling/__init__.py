"""Labelling: annotation sets, the labelling flow and screen, the statistics of the labels."""
