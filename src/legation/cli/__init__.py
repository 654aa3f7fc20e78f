"""The `legation` command line: one module per command."""
