"""The ``mmscore`` command line (Typer). ``app.py`` only wires; each command has its own module."""
