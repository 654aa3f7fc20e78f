"""Limits on what the sources read, in a module that imports nothing.

The CLI shows these as option defaults, so `legation run --help` can print them
without importing the readers themselves.
"""

from __future__ import annotations

DEFAULT_MAX_FILE_SIZE = 8 * 1024 * 1024
"""Files larger than this (bytes) are reported and not read (`--max-file-size`)."""
