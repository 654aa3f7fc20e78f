"""Wiring: sources → compile → translate → xDS, debouncing and keeping the last good result."""
