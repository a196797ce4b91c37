"""Single source of the package version (also read by provenance signatures)."""

__version__ = "0.1.0"
