"""ACM as AWS behaves.

- A DNS-validated certificate turns ``ISSUED`` only once every validation CNAME of its
  ``DomainValidationOptions`` exists in a public Route 53 zone (of any account), and not before
  the ``certificate`` delay (moto: after a fixed wait, record or not).
- ``InUseBy`` lists the load balancers whose listeners use the certificate, and
  ``DeleteCertificate`` refuses while there is one (``ResourceInUseException``).
"""

from __future__ import annotations

from typing import Any

from moto.acm.models import AWSCertificateManagerBackend, CertBundle
from moto.core.utils import utcnow

from ..state import STATE
from .core import AwsError, backends_in_region

__all__ = ["apply", "listeners_using"]

# moto's fixed validation record (see moto.acm.models.CertBundle.describe)
_VALIDATION_PREFIX = "_d930b28be6c5927595552b219965053e"
_VALIDATION_VALUE = "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws"


def listeners_using(certificate_arn: str) -> list[str]:
    """ARNs of the load balancers whose listeners use the certificate (its account/region)."""
    from moto.elbv2.models import elbv2_backends

    parts = certificate_arn.split(":")
    if len(parts) < 6:
        return []
    region, account = parts[3], parts[4]
    users: list[str] = []
    for backend_account, backend in backends_in_region(elbv2_backends, region):
        if backend_account != account:
            continue
        for balancer in backend.load_balancers.values():
            for listener in balancer.listeners.values():
                if certificate_arn in (listener.certificates or []) and balancer.arn not in users:
                    users.append(balancer.arn)
    return users


def _cname_present(name: str, value: str) -> bool:
    from moto.route53.models import route53_backends

    name = name.rstrip(".").lower()
    value = value.rstrip(".").lower()
    for _, backend in backends_in_region(route53_backends, "aws"):
        for zone in list(backend.zones.values()):
            zone_name = zone.name.rstrip(".").lower()
            if zone.private_zone or not (name == zone_name or name.endswith("." + zone_name)):
                continue
            for rrset in zone.rrsets:
                if rrset.type != "CNAME" or rrset.name.rstrip(".").lower() != name:
                    continue
                values = [
                    (r.get("Value", "") if isinstance(r, dict) else str(r)).rstrip(".").lower()
                    for r in rrset.records
                ]
                if value in values:
                    return True
    return False


def _validated(cert: Any) -> bool:
    domains = set(cert.sans + ([cert.common_name] if cert.common_name else []))
    for domain in domains:
        base = domain[2:] if domain.startswith("*.") else domain
        if not _cname_present(f"{_VALIDATION_PREFIX}.{base}", _VALIDATION_VALUE):
            return False
    return True


def apply() -> None:
    def check(self: Any) -> None:
        current = utcnow()
        if self._not_valid_after(self._cert) <= current:
            self.status = "EXPIRED"
            return
        if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
            waited = (current - self.created_at).total_seconds()
            if waited >= STATE.delays.certificate and _validated(self):
                self.status = "ISSUED"

    setattr(CertBundle, "check", check)  # noqa: B010

    def get_in_use_by(self: Any) -> list[str]:
        return listeners_using(self.arn)

    def set_in_use_by(self: Any, value: list[str]) -> None:
        pass  # computed from the listeners, as AWS reports it

    setattr(CertBundle, "in_use_by", property(get_in_use_by, set_in_use_by))  # noqa: B010

    original_delete = AWSCertificateManagerBackend.delete_certificate

    def delete_certificate(self: Any, arn: str) -> None:
        self.get_certificate(arn)  # CertificateNotFound first, as AWS
        users = listeners_using(arn)
        if users:
            raise AwsError("ResourceInUseException", f"Certificate {arn} in use by {users[0]}")
        original_delete(self, arn)

    setattr(AWSCertificateManagerBackend, "delete_certificate", delete_certificate)  # noqa: B010
