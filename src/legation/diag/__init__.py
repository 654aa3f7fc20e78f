"""Diagnostics: probes and read-only views over the last pipeline results."""
