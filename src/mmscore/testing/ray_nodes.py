"""Find which node of a one-host Ray test cluster runs a given actor (Linux ``/proc``), to kill it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def node_runs(node: Any, marker: str) -> bool:
    """Whether a ``ray.cluster_utils.Cluster`` node runs a worker whose command line holds ``marker``
    (Ray names actor processes ``ray::<class>``)."""
    for pid in descendants(node.all_processes["raylet"][0].process.pid):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
