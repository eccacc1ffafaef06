"""The memory of a benchmarked process and of the children it forks (pingyi forks a child for
a circular's XLSX: ``jobs/circulars/beside.py``).

A child's own peak (VmHWM, or ``ru_maxrss``) starts from its parent's at the fork, as the kernel
carries it over, so it cannot be read that way: the figures are sampled instead.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path


class TreeMemory:
    """Every ``every`` seconds (20 ms), the RSS of a process's children, and the summed RSS
    and PSS of the process and its children: the largest figures seen. RSS counts the pages
    parent and child share since the fork twice; PSS splits each shared page between them, so
    its sum is the memory the two really hold. Sampling can miss a peak shorter than a period,
    and costs the machine a little CPU while it runs."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.every = every
        self.pid, self.rss_mb, self.pss_mb, self.child_mb = pid, 0.0, 0.0, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _field(self, pid: int, name: str, key: str) -> float:
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError:  # the process has just ended
            return 0.0
        found = re.search(rf"{key}:\s+(\d+)", text)
        return int(found.group(1)) / 1024 if found else 0.0

    def _watch(self) -> None:
        while not self._done.wait(self.every):
            try:
                kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            except OSError:
                kids = []
            pids = [self.pid, *map(int, kids)]
            children = sum(self._field(p, "status", "VmRSS") for p in pids[1:])
            self.child_mb = max(self.child_mb, children)
            self.rss_mb = max(self.rss_mb, sum(self._field(p, "status", "VmRSS") for p in pids))
            self.pss_mb = max(self.pss_mb, sum(self._field(p, "smaps_rollup", "Pss") for p in pids))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
