"""Execution engines: sharded, restartable output and the optional Ray Data engine."""
