"""Recordings on disk: the native format, samples CSV, and loading either by path."""
