"""Fidelity patches applied to moto inside the emulator's server process.

Each module changes moto where it is kinder than AWS (see EMULATION.md); :func:`apply_all`
applies them once, before the server answers its first request.
"""

from __future__ import annotations

__all__ = ["apply_all"]

_applied = False


def apply_all() -> None:
    global _applied
    if _applied:
        return
    from . import acm, core, ec2_endpoints, elbv2, route53

    core.apply()
    ec2_endpoints.apply()
    elbv2.apply()
    acm.apply()
    route53.apply()
    _applied = True
