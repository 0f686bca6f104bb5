"""The benchmark harness: /proc readings, the report, and a tiny real run (N=2)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from privatelink_operator.bench.floor import FLOOR_WRITES
from privatelink_operator.bench.procstat import (
    parse_stat_cpu,
    parse_status_kib,
    sample_process,
    sample_thread,
)
from privatelink_operator.bench.report import markdown, save, write_reports
from privatelink_operator.bench.run import BenchConfig, run_one
from privatelink_operator.testing.aws import AwsEmulator


def test_cpu_is_read_from_proc_stat_even_when_the_command_name_has_spaces() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S"] + ["0"] * 10 + [str(3 * ticks), str(ticks)] + ["0"] * 30
    line = "1234 (python3 -m a (b)) " + " ".join(fields)
    assert parse_stat_cpu(line) == 4.0


def test_peak_rss_is_vmhwm_in_bytes() -> None:
    status = "Name:\tpython\nVmHWM:\t  120000 kB\nVmRSS:\t   90000 kB\n"
    assert parse_status_kib(status, "VmHWM") == 120000 * 1024
    assert parse_status_kib(status, "VmSwap") == 0


def test_this_process_and_thread_can_be_sampled() -> None:
    sample = sample_process(os.getpid())
    assert sample.peak_rss_bytes >= sample.rss_bytes > 0
    native = threading.current_thread().native_id
    assert native is not None
    assert sample_thread(native).cpu_seconds > 0


def test_a_tiny_run_converges_with_the_floors_writes_and_writes_a_report(
    aws_emulator_session: AwsEmulator, tmp_path: Path
) -> None:
    config = BenchConfig(drift_period=2.0, steady_periods=1.0, timeout=60.0)
    result = run_one(2, config, aws_emulator_session, aws_pid=None)

    assert result["converge"]["complete"], result.get("operator_log_tail")
    assert result["floor"]["writes_per_object"] == len(FLOOR_WRITES)
    assert result["floor"]["cpu_ms_per_object"] > 0  # botocore's CPU for the bare chain
    assert result["converge"]["calls"]["writes_per_object"] == len(FLOOR_WRITES)
    assert result["steady"]["writes_per_period"] == 0
    assert result["operator"]["peak_rss_mb"] > 10
    save(result, tmp_path)
    written = write_reports(tmp_path)
    assert (tmp_path / "README.md") in written
    assert json.loads((tmp_path / "n0002.json").read_text())["n"] == 2
    assert "| 2 |" in markdown([result])
    assert f"({result['floor']['cpu_ms_per_object']:.1f})" in markdown([result])


def test_probing_many_endpoints_stays_within_the_probers_socket_limit() -> None:
    from privatelink_operator.bench.probes import measure_probes

    result = measure_probes(12, max_connections=4)

    assert result["h2_ready"] == 12
    assert 1 <= result["max_open_sockets"] <= 4
    assert result["cpu_ms_per_probe"] > 0


def test_long_run_reads_count_the_detail_budget_in_full() -> None:
    from privatelink_operator.bench.run import BenchConfig, long_run_reads

    reads = {"elbv2:DescribeLoadBalancers": 4, "elbv2:DescribeTargetHealth": 2}
    # N=1000, budget 10: each snapshot (one a period) reads 10 objects' 3 details.
    assert long_run_reads(reads, 2, 1000, 10) == {
        "detail_reads_per_period": 1.0,
        "long_run_reads_per_period": 2.0 + 30.0,
    }
    # N=5: all of them, every snapshot.
    assert long_run_reads(reads, 2, 5, 10)["long_run_reads_per_period"] == 2.0 + 15.0
    assert BenchConfig(operator_args=("--drift-detail-budget", "4")).detail_budget == 4
    assert BenchConfig(operator_args=("--drift-detail-budget=0",)).detail_budget == 0
    assert BenchConfig().detail_budget == 10
