"""Crashes: the operators are killed (SIGKILL) at random moments while N objects converge and
while they are deleted, round after round; after each restart everything converges (or goes),
with exactly one of each AWS resource per object, and nothing tagged for the cluster that no
object explains (no twins, no orphans).

The default run is one short round; ``make soak`` runs 10 rounds of 20 services and 20
endpoints (``RELIABILITY_ROUNDS``, ``RELIABILITY_OBJECTS``; ``RELIABILITY_SEED`` replays one).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from reliability_helpers import (
    PLE_ROLES,
    PLS_ROLES,
    Fleet,
    assert_one_of_each,
    env_int,
    ple_spec,
    pls_spec,
    scan,
    txt_challenges,
)

from privatelink_operator.testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, AwsEmulator
from privatelink_operator.testing.operator import OperatorProcess
from privatelink_operator.testing.world import World


@dataclass
class Tally:
    rounds: int = 0
    objects: int = 0
    kills: int = 0
    resources_checked: int = 0
    orphans: int = 0
    twins: int = 0

    def line(self) -> str:
        return (
            f"rounds={self.rounds} objects={self.objects} kills={self.kills} "
            f"resources-checked={self.resources_checked} twins={self.twins} "
            f"orphans={self.orphans}"
        )


def kill_at_random(
    operator: OperatorProcess, rng: random.Random, tally: Tally, kills: int, window: float
) -> None:
    """``kills`` times: let it run a random part of ``window`` seconds, SIGKILL, restart."""
    for _ in range(kills):
        time.sleep(rng.uniform(0.1, window))
        operator.kill()
        tally.kills += 1
        operator.start()


def crash_rounds(
    rounds: int,
    n: int,
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> Tally:
    seed = int(os.environ.get("RELIABILITY_SEED", "") or random.randrange(1 << 30))
    print(f"\ncrash test: {rounds} rounds of {n}+{n} objects, RELIABILITY_SEED={seed}")
    rng = random.Random(seed)
    provider = operator_factory(
        services.kube, aws_emulator.env(PROVIDER_ACCOUNT), drift_period=5.0, name="provider"
    )
    consumer = operator_factory(
        endpoints.kube, aws_emulator.env(CONSUMER_ACCOUNT), drift_period=5.0, name="consumer"
    )
    tally = Tally()
    for round_ in range(rounds):
        started = time.monotonic()
        # Converge, killed along the way.
        for i in range(n):
            services.apply(f"svc{i}", pls_spec(world, certificate, i))
        kill_at_random(provider, rng, tally, kills=2, window=3.0)
        services.wait_ready(timeout=60 + 4 * n, log=provider.log)
        for i in range(n):
            name = (services.get(f"svc{i}") or {})["status"]["serviceName"]
            endpoints.apply(f"ep{i}", ple_spec(world, name))
        kill_at_random(consumer, rng, tally, kills=2, window=2.0)
        endpoints.wait_ready(timeout=60 + 3 * n, log=consumer.log)

        found = scan(aws_emulator)
        tally.resources_checked += found.total()
        explained = set(services.uids()) | set(endpoints.uids())
        unexplained = found.unexplained(explained)
        tally.orphans += sum(len(ids) for roles in unexplained.values() for ids in roles.values())
        tally.twins += found.total() - n * (len(PLS_ROLES) + len(PLE_ROLES))
        assert_one_of_each(found, services, PLS_ROLES)
        assert_one_of_each(found, endpoints, PLE_ROLES)
        assert unexplained == {}
        assert len(txt_challenges(world)) == n

        # Delete, killed along the way: endpoints first, then the services.
        endpoints.delete_all()
        kill_at_random(consumer, rng, tally, kills=2, window=1.5)
        endpoints.wait_gone(timeout=60 + 2 * n, log=consumer.log)
        services.delete_all()
        kill_at_random(provider, rng, tally, kills=2, window=2.0)
        services.wait_gone(timeout=60 + 3 * n, log=provider.log)

        left = scan(aws_emulator)
        tally.resources_checked += left.total()
        tally.orphans += left.total()
        assert left.by_uid == {}, f"left after deletion: {left.by_uid}"
        assert txt_challenges(world) == []
        tally.rounds += 1
        tally.objects += 2 * n
        print(f"  round {round_ + 1}: {time.monotonic() - started:.1f}s; {tally.line()}")
    print(f"crash test checked: {tally.line()}")
    return tally


def test_operators_killed_while_converging_and_deleting_leave_no_twin_and_no_orphan(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    tally = crash_rounds(
        1,
        env_int("RELIABILITY_CRASH_OBJECTS", 3),
        world,
        aws_emulator,
        services,
        endpoints,
        wildcard_certificate,
        operator_factory,
    )
    assert (tally.rounds, tally.kills, tally.twins, tally.orphans) == (1, 8, 0, 0)


@pytest.mark.soak
def test_soak_ten_rounds_of_twenty_objects_killed_at_random(
    world: World,
    aws_emulator: AwsEmulator,
    services: Fleet,
    endpoints: Fleet,
    wildcard_certificate: str,
    operator_factory: Callable[..., OperatorProcess],
) -> None:
    rounds = env_int("RELIABILITY_ROUNDS", 10)
    tally = crash_rounds(
        rounds,
        env_int("RELIABILITY_OBJECTS", 20),
        world,
        aws_emulator,
        services,
        endpoints,
        wildcard_certificate,
        operator_factory,
    )
    assert (tally.rounds, tally.twins, tally.orphans) == (rounds, 0, 0)
