"""The emulator is fast and flat in N: no request history, no full replays on watch."""

from __future__ import annotations

from typing import Any

from privatelink_operator.testing.kube.bench import measure_pairs_per_second


def test_create_and_status_pairs_per_second_are_flat_in_n(kube_emulator_factory: Any) -> None:
    """Several hundred create+status pairs/s at N=100 and N=1000 (kmock 0.8: 20/s and <3/s)."""
    small, _seen_small = measure_pairs_per_second(kube_emulator_factory("n100"), 100)
    large, seen_large = measure_pairs_per_second(kube_emulator_factory("n1000"), 1000)
    print(f"\ncreate+status pairs/s: N=100 {small:.0f}, N=1000 {large:.0f}")
    assert small > 200 and large > 200  # measured here: ~1600 and ~1900 on 2 shared cores
    assert large > 0.5 * small  # flat: cost per pair does not grow with N
    assert seen_large > 1000  # the open watch received the events as they happened
