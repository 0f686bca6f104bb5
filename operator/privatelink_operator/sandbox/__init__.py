"""The local sandbox: the whole PrivateLink + HTTP/2 flow on loopback, in one command.

``python -m privatelink_operator sandbox`` (``make demo``) starts the AWS emulator, two
Kubernetes API emulators, a real HTTP/2 backend, a stand-in for the NLB's data path and both
operators, applies ``examples/`` and shows each condition turning until both objects are Ready
and the probe negotiated h2. Modules:

- :mod:`.run`: the orchestration and the command (:func:`cli_sandbox`);
- :mod:`.nlb`: the NLB stand-in (ALPN policy -> offered protocols, TLS, forwarding);
- :mod:`.backend`: Apache httpd (mod_http2, mod_ssl) or the Python h2 server;
- :mod:`.display`: the live condition table, or plain lines when not on a terminal;
- :mod:`.examples`: the sandbox's edits to the examples, each explained.
"""

from __future__ import annotations

from .run import cli_sandbox

__all__ = ["cli_sandbox"]
