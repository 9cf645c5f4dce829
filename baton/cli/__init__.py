"""The `baton` command line: one module per command group, `output.py` renders the results."""
