"""CPU seconds and peak RSS of a process or a thread, read from ``/proc`` (no psutil)."""

from __future__ import annotations

import os
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcSample:
    cpu_seconds: float  # user + system
    rss_bytes: int  # VmRSS now (0 for a thread)
    peak_rss_bytes: int  # VmHWM: the high-water mark of the resident set (0 for a thread)
    sockets: int  # open socket file descriptors (0 for a thread)


def parse_stat_cpu(stat: str) -> float:
    """utime + stime (fields 14 and 15) of a ``/proc/.../stat`` line, in seconds."""
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    rest = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(rest[11]), int(rest[12])
    return (utime + stime) / _TICKS


def parse_status_kib(status: str, field: str) -> int:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _sockets(pid: int) -> int:
    count = 0
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for entry in entries:
        try:
            if os.readlink(f"/proc/{pid}/fd/{entry}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def sample_process(pid: int) -> ProcSample:
    with open(f"/proc/{pid}/stat") as f:
        cpu = parse_stat_cpu(f.read())
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    return ProcSample(
        cpu,
        parse_status_kib(status, "VmRSS"),
        parse_status_kib(status, "VmHWM"),
        _sockets(pid),
    )


def sample_thread(native_id: int, pid: int | None = None) -> ProcSample:
    """CPU seconds of one thread (``threading.Thread.native_id``) of ``pid`` (default: self)."""
    with open(f"/proc/{pid or os.getpid()}/task/{native_id}/stat") as f:
        return ProcSample(parse_stat_cpu(f.read()), 0, 0, 0)
