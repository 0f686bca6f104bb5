"""privatelink-operator: AWS PrivateLink from Kubernetes, with HTTP/2 proven end to end."""

__version__ = "0.1.0"

GROUP = "privatelink.operator.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
