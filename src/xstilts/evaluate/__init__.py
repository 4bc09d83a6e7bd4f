"""Metrics and evaluation for xstilts tasks."""
