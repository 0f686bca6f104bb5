"""``make bench`` / ``python -m privatelink_operator.bench``: the operator at scale.

For each N it runs the real operator (a process) against the AWS emulator (a process) and the
Kubernetes emulator (a thread of the benchmark), applies N PrivateLinkServices and records: the
time from apply to all Ready, the AWS calls by service and operation (writes and reads, per
object), the calls of one drift period in steady state, the operator's peak RSS and CPU
seconds, and the emulators' own CPU. It also times the *floor*: the minimal chain of AWS write
calls for N objects made by a bare boto3 script against the same emulator, so the operator's
time is reported as a ratio to it. Results: ``bench/results/*.json``, ``bench/results/README.md``
(a Markdown table) and ``bench/results/bench.png`` (when matplotlib is installed).
"""

from __future__ import annotations

from .procstat import ProcSample, sample_process, sample_thread

__all__ = ["ProcSample", "sample_process", "sample_thread"]
