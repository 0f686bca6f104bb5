"""kube.py without the kubernetes package: kubeconfig and in-cluster credentials (real files,
real TLS with trustme), status merge patches, CA-bundle reads and the classification of API
errors, against the Kubernetes emulator and small aiohttp servers."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiohttp import web

from privatelink_operator import API_VERSION, kube
from privatelink_operator.testing.kube import KubeEmulator
from privatelink_operator.testing.kube.faults import KubeFaultRule

ROOT = Path(__file__).resolve().parents[2]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(
    path: Path, cluster: dict[str, Any], user: dict[str, Any], namespace: str = "team-a"
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [
                    {
                        "name": "ctx",
                        "context": {"cluster": "c", "user": "u", "namespace": namespace},
                    }
                ],
                "current-context": "ctx",
            }
        )
    )
    return path


@pytest.fixture(autouse=True)
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    kube.reset_client()
    yield
    kube.reset_client()


# -- credentials from files ------------------------------------------------------------------


def test_kubeconfig_token_relative_ca_file_and_namespace(tmp_path: Path) -> None:
    ca = trustme.CA()
    (tmp_path / "certs").mkdir()
    ca.cert_pem.write_to_path(str(tmp_path / "certs" / "ca.crt"))
    config = write_kubeconfig(
        tmp_path / "config",
        {"server": "https://k8s.example:6443/", "certificate-authority": "certs/ca.crt"},
        {"token": "s3cret"},
    )
    creds = kube.kubeconfig_credentials([str(config)])
    assert creds.server == "https://k8s.example:6443"
    assert creds.ca_path == str(tmp_path / "certs" / "ca.crt")  # relative to the kubeconfig
    assert creds.namespace == "team-a"
    assert creds.headers() == {"Authorization": "Bearer s3cret"}
    context = creds.ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    info = creds.to_kopf()
    assert (info.server, info.token, info.default_namespace) == (
        "https://k8s.example:6443",
        "s3cret",
        "team-a",
    )


def test_kubeconfig_client_certificate_and_ca_data_decode_to_pem(tmp_path: Path) -> None:
    ca = trustme.CA()
    client = ca.issue_cert("operator@example")
    config = write_kubeconfig(
        tmp_path / "config",
        {
            "server": "https://127.0.0.1:6443",
            "certificate-authority-data": b64(ca.cert_pem.bytes()),
        },
        {
            "client-certificate-data": b64(client.cert_chain_pems[0].bytes()),
            "client-key-data": b64(client.private_key_pem.bytes()),
        },
    )
    creds = kube.kubeconfig_credentials([str(config)])
    assert creds.ca_data == ca.cert_pem.bytes().decode()
    assert creds.certificate_data and creds.certificate_data.startswith("-----BEGIN CERTIFICATE")
    assert creds.private_key_data and "PRIVATE KEY" in creds.private_key_data
    assert creds.ca_path is None and creds.certificate_path is None and creds.headers() == {}
    assert creds.ssl_context() is not None  # loads the chain from the data
    kopf_context = creds.to_kopf().as_ssl_context()  # kopf accepts the same PEM text
    assert kopf_context.verify_mode == ssl.CERT_REQUIRED


def test_kubeconfig_insecure_skips_verification(tmp_path: Path) -> None:
    config = write_kubeconfig(
        tmp_path / "config",
        {"server": "https://10.0.0.1", "insecure-skip-tls-verify": True},
        {"username": "admin", "password": "pw"},
    )
    creds = kube.kubeconfig_credentials([str(config)])
    assert creds.insecure
    assert creds.ssl_context() is None  # the connector gets aiohttp's ssl=False
    assert creds.headers() == {"Authorization": f"Basic {b64(b'admin:pw')}"}
    assert creds.to_kopf().insecure is True


def test_kubeconfig_files_merge_first_value_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_kubeconfig(tmp_path / "a", {"server": "http://first"}, {"token": "one"})
    second = tmp_path / "b"
    second.write_text(
        yaml.safe_dump(
            {
                "current-context": "other",
                "clusters": [{"name": "c", "cluster": {"server": "http://second"}}],
                "contexts": [{"name": "other", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, (missing, first, second))))
    creds = kube.load_credentials()
    assert (creds.server, creds.token) == ("http://first", "one")


def test_insecure_with_a_client_certificate_is_refused_clearly(tmp_path: Path) -> None:
    client = trustme.CA().issue_cert("operator@example")
    config = write_kubeconfig(
        tmp_path / "config",
        {"server": "https://10.0.0.1", "insecure-skip-tls-verify": True},
        {
            "client-certificate-data": b64(client.cert_chain_pems[0].bytes()),
            "client-key-data": b64(client.private_key_pem.bytes()),
        },
    )
    with pytest.raises(kube.KubeConfigError, match=r"insecure-skip-tls-verify.*certificate-auth"):
        kube.kubeconfig_credentials([str(config)])


def test_no_kubeconfig_and_no_service_account_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(kube.KubeConfigError, match=r"no kubeconfig at .*no in-cluster"):
        kube.load_credentials()


def test_in_cluster_service_account_unless_kubeconfig_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token\n")
    (account / "namespace").write_text("plo-system")
    trustme.CA().cert_pem.write_to_path(str(account / "ca.crt"))
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HOME", str(tmp_path))
    creds = kube.load_credentials()
    assert creds.server == "https://[fd00::1]:443"
    assert (creds.token, creds.namespace) == ("pod-token", "plo-system")
    assert creds.ca_path == str(account / "ca.crt")
    # An explicit KUBECONFIG wins, as for kubectl and client-go.
    config = write_kubeconfig(tmp_path / "config", {"server": "http://elsewhere"}, {})
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert kube.load_credentials().server == "http://elsewhere"


# -- requests over TLS -----------------------------------------------------------------------


@pytest.fixture
async def tls_server(
    tmp_path: Path,
) -> AsyncIterator[Callable[[ssl.SSLContext], Any]]:
    runners: list[web.AppRunner] = []

    async def start(context: ssl.SSLContext) -> str:
        async def namespace(request: web.Request) -> web.Response:
            peer = request.transport.get_extra_info("peercert") if request.transport else None
            subject = dict(x[0] for x in (peer or {}).get("subject", ()))
            user = subject.get("commonName") or request.headers.get("Authorization", "")
            return web.json_response({"kind": "Namespace", "metadata": {"name": user}})

        app = web.Application()
        app.router.add_get("/api/v1/namespaces/whoami", namespace)
        app_runner = web.AppRunner(app)
        await app_runner.setup()
        site = web.TCPSite(app_runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        runners.append(app_runner)
        port = app_runner.addresses[0][1]
        return f"https://127.0.0.1:{port}"

    yield start
    for app_runner in runners:
        await app_runner.cleanup()


async def test_client_certificate_authenticates_over_verified_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls_server: Callable[..., Any]
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no answer
    url = await tls_server(server_context)
    client = ca.issue_cert("operator@example", common_name="system:operator")
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.crt"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    config = write_kubeconfig(
        tmp_path / "config",
        {"server": url, "certificate-authority-data": b64(ca.cert_pem.bytes())},
        {"client-certificate": "client.crt", "client-key": "client.key"},
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    answer = await kube.request("GET", "/api/v1/namespaces/whoami")
    assert answer["metadata"]["name"] == "system:operator"
    await kube.close()


async def test_insecure_skip_tls_verify_accepts_an_unknown_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls_server: Callable[..., Any]
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_context)
    url = await tls_server(server_context)
    config = write_kubeconfig(tmp_path / "config", {"server": url}, {"token": "t"})
    monkeypatch.setenv("KUBECONFIG", str(config))
    with pytest.raises(kube.KubeConnectionError) as failed:  # unknown CA: refused
        await kube.request("GET", "/api/v1/namespaces/whoami")
    assert kube.transient_api_error(failed.value) is not None  # a lost connection
    await kube.close()
    write_kubeconfig(
        tmp_path / "config", {"server": url, "insecure-skip-tls-verify": True}, {"token": "t"}
    )
    kube.reset_client()
    answer = await kube.request("GET", "/api/v1/namespaces/whoami")
    assert answer["metadata"]["name"] == "Bearer t"
    await kube.close()


async def test_a_401_reads_a_rotated_token_again_and_retries_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old")
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if seen[-1] != "Bearer new":
            token_file.write_text("new")  # the kubelet rotates the projected token
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"data": {"ca.crt": "PEM"}})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/configmaps/ca", handler)
    app_runner = web.AppRunner(app)
    await app_runner.setup()
    await web.TCPSite(app_runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{app_runner.addresses[0][1]}"
        config = write_kubeconfig(tmp_path / "config", {"server": url}, {"tokenFile": "token"})
        monkeypatch.setenv("KUBECONFIG", str(config))
        assert await kube.read_ca_bundle("ConfigMap", "ns", "ca", "ca.crt") == "PEM"
        assert seen == ["Bearer old", "Bearer new"]
        await kube.close()
    finally:
        await app_runner.cleanup()


# -- against the Kubernetes emulator ---------------------------------------------------------


@pytest.fixture
def cluster(
    cluster_factory: Callable[..., KubeEmulator], monkeypatch: pytest.MonkeyPatch
) -> KubeEmulator:
    emulator = cluster_factory("provider", namespaces=("payments",))
    monkeypatch.setenv("KUBECONFIG", emulator.kubeconfig_path)
    with open(ROOT / "examples" / "privatelinkservice.yaml", encoding="utf-8") as f:
        emulator.create(yaml.safe_load(f))
    return emulator


async def test_status_is_merge_patched_on_the_status_subresource(cluster: KubeEmulator) -> None:
    mark = cluster.faults.mark()
    first = {"observedGeneration": 1, "serviceId": "vpce-svc-1", "serviceName": "com.x"}
    await kube.patch_status("privatelinkservices", "payments", "orders", first)
    await kube.patch_status("privatelinkservices", "payments", "orders", {"serviceName": None})
    found = cluster.get(API_VERSION, "PrivateLinkService", "orders", namespace="payments")
    assert found["status"] == {"observedGeneration": 1, "serviceId": "vpce-svc-1"}
    assert found["spec"]["privateDnsName"] == "orders.vpce.example.com"
    requests = [
        (r.verb, r.resource, r.subresource, r.status) for r in cluster.faults.requests(since=mark)
    ]
    assert requests == [("patch", "privatelinkservices", "status", 200)] * 2
    await kube.close()


async def test_ca_bundles_from_configmaps_and_secrets(cluster: KubeEmulator) -> None:
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "corp-ca", "namespace": "payments"},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nA\n"},
        }
    )
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "corp-ca", "namespace": "payments"},
            "data": {"ca.crt": b64(b"-----BEGIN CERTIFICATE-----\nB\n")},
        }
    )
    read = kube.read_ca_bundle
    assert await read("ConfigMap", "payments", "corp-ca", "ca.crt") == (
        "-----BEGIN CERTIFICATE-----\nA\n"
    )
    assert await read("Secret", "payments", "corp-ca", "ca.crt") == (
        "-----BEGIN CERTIFICATE-----\nB\n"
    )
    assert await read("ConfigMap", "payments", "corp-ca", "other.crt") is None
    assert await read("Secret", "payments", "missing", "ca.crt") is None
    await kube.close()


@pytest.mark.parametrize(("status", "expected"), [(409, "409 Conflict"), (500, "500 Internal")])
async def test_conflicts_and_server_errors_are_transient(
    cluster: KubeEmulator, status: int, expected: str
) -> None:
    cluster.faults.add(
        KubeFaultRule(verb="patch", resource="privatelinkservices", status=status, times=1)
    )
    with pytest.raises(kube.KubeApiError) as failed:
        await kube.patch_status("privatelinkservices", "payments", "orders", {"x": 1})
    assert (kube.transient_api_error(failed.value) or "").startswith(expected)
    await kube.patch_status("privatelinkservices", "payments", "orders", {"x": 1})  # then fine
    await kube.close()


async def test_other_answers_are_not_transient_and_lost_servers_are(
    cluster: KubeEmulator,
) -> None:
    with pytest.raises(kube.KubeApiError) as missing:
        await kube.patch_status("privatelinkservices", "payments", "nothere", {"x": 1})
    assert missing.value.status == 404
    assert kube.transient_api_error(missing.value) is None
    assert kube.transient_api_error(ValueError("no")) is None
    await kube.close()
    cluster.stop()  # (the credentials stay cached; a new session finds nobody listening)
    with pytest.raises(kube.KubeConnectionError) as refused:
        await kube.patch_status("privatelinkservices", "payments", "orders", {"x": 1})
    assert kube.transient_api_error(refused.value) == "ClientConnectorError"
    await kube.close()


def test_request_sync_for_the_command_line_tools(cluster: KubeEmulator) -> None:
    found = kube.request_sync(kube.custom_object_path("privatelinkservices", "payments", "orders"))
    assert found["metadata"]["name"] == "orders"
    with pytest.raises(kube.KubeApiError):
        kube.request_sync("/api/v1/namespaces/payments/configmaps/nothere", timeout=5)


# -- the run command -------------------------------------------------------------------------


def test_the_run_path_never_imports_the_kubernetes_client() -> None:
    script = (
        "import sys\n"
        "from privatelink_operator import runner\n"
        "runner.without_kubernetes_client()\n"
        "import kopf\n"
        "from privatelink_operator import handlers, kube, metrics, planning\n"
        "from privatelink_operator.aws import AwsClients\n"
        "loaded = [m for m, v in sys.modules.items() if m.startswith('kubernetes') and v]\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_run_stops_at_once_with_the_reason_when_credentials_are_unusable(tmp_path: Path) -> None:
    exec_config = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "plo-no-such-auth-plugin",
        "installHint": "install plo-no-such-auth-plugin from the platform team's bucket",
    }
    config = write_kubeconfig(tmp_path / "config", {"server": "https://eks"}, {"exec": exec_config})
    env = {**os.environ, "KUBECONFIG": str(config), "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-m", "privatelink_operator", "run", "--standalone"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert "exec plugin plo-no-such-auth-plugin was not found" in output
    assert "from the platform team's bucket" in output


# -- exec credential plugins -----------------------------------------------------------------

PLUGIN = """\
import datetime, json, os, sys

spec = json.load(open(sys.argv[1]))
with open(spec["log"], "a") as log:
    log.write(json.dumps({
        "args": sys.argv[2:],
        "env": os.environ.get("PLUGIN_ENV"),
        "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]),
    }) + "\\n")
with open(spec["log"]) as log:
    runs = len(log.readlines())
if spec.get("stderr"):
    sys.stderr.write(spec["stderr"])
if spec.get("exit"):
    sys.exit(spec["exit"])
status = {}
if spec.get("token"):
    status["token"] = f"{spec['token']}-{runs}"
for key in ("clientCertificateData", "clientKeyData"):
    if spec.get(key):
        status[key] = spec[key]
if spec.get("expires_in") is not None:
    at = datetime.datetime.now(datetime.timezone.utc)
    at += datetime.timedelta(seconds=spec["expires_in"])
    status["expirationTimestamp"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
answer = {"kind": "ExecCredential", "apiVersion": spec.get("answer", spec["apiVersion"])}
print(json.dumps({**answer, "status": status}))
"""

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


class Plugin:
    """A real exec credential plugin (a Python script) driven by a JSON spec file; every run
    is logged (its args, ``$PLUGIN_ENV`` and ``$KUBERNETES_EXEC_INFO``) and numbers its token
    (``tok-1``, ``tok-2``...)."""

    def __init__(self, directory: Path) -> None:
        self.script = directory / "plugin.py"
        self.script.write_text(PLUGIN)
        self.spec_path = directory / "plugin.json"
        self.log = directory / "plugin.log"
        self.spec: dict[str, Any] = {}

    def configure(self, **spec: Any) -> None:
        self.spec = {"apiVersion": V1BETA1, "log": str(self.log), **spec}
        self.spec_path.write_text(json.dumps(self.spec))

    def exec_config(self, **extra: Any) -> dict[str, Any]:
        return {
            "apiVersion": self.spec["apiVersion"],
            "command": sys.executable,
            "args": [str(self.script), str(self.spec_path), *extra.pop("args", [])],
            **extra,
        }

    def runs(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path)


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, list[str], set[str]]]:
    """A plain-HTTP API server that records each request's Authorization header and answers
    401 to the tokens in the returned set."""
    seen: list[str] = []
    rejected: set[str] = set()

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if seen[-1] in rejected:
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"data": {"ca.crt": "PEM"}})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/configmaps/ca", handler)
    app_runner = web.AppRunner(app)
    await app_runner.setup()
    await web.TCPSite(app_runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{app_runner.addresses[0][1]}", seen, rejected
    finally:
        await app_runner.cleanup()


async def read_ca() -> str | None:
    return await kube.read_ca_bundle("ConfigMap", "ns", "ca", "ca.crt")


async def test_exec_plugin_token_against_the_emulator_with_args_and_env(
    cluster: KubeEmulator, plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin.configure(token="tok")
    exec_config = plugin.exec_config(
        args=["eks", "get-token", "--cluster-name", "prod"],
        env=[{"name": "PLUGIN_ENV", "value": "from-kubeconfig"}],
    )
    config = write_kubeconfig(tmp_path / "config", {"server": cluster.url}, {"exec": exec_config})
    monkeypatch.setenv("KUBECONFIG", str(config))
    mark = cluster.faults.mark()
    await kube.patch_status("privatelinkservices", "payments", "orders", {"serviceId": "a"})
    await kube.patch_status("privatelinkservices", "payments", "orders", {"serviceId": "b"})
    found = cluster.get(API_VERSION, "PrivateLinkService", "orders", namespace="payments")
    assert found["status"]["serviceId"] == "b"
    assert [r.status for r in cluster.faults.requests(since=mark)] == [200, 200]
    runs = plugin.runs()
    assert len(runs) == 1  # no expirationTimestamp: the credential is kept
    assert runs[0]["args"] == ["eks", "get-token", "--cluster-name", "prod"]
    assert runs[0]["env"] == "from-kubeconfig"
    assert runs[0]["info"] == {
        "apiVersion": V1BETA1,
        "kind": "ExecCredential",
        "spec": {"interactive": False},  # no cluster without provideClusterInfo
    }
    assert kube.credentials().headers() == {"Authorization": "Bearer tok-1"}
    await kube.close()


async def test_exec_plugin_token_is_sent_and_renewed_when_it_expires(
    recording_server: tuple[str, list[str], set[str]],
    plugin: Plugin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen, _ = recording_server
    plugin.configure(apiVersion=V1, token="tok", expires_in=-30)  # already expired
    config = write_kubeconfig(
        tmp_path / "config", {"server": url}, {"exec": plugin.exec_config(interactiveMode="Never")}
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert await read_ca() == "PEM"
    assert await read_ca() == "PEM"
    assert seen == ["Bearer tok-1", "Bearer tok-2"]  # run again for each request
    plugin.configure(apiVersion=V1, token="tok", expires_in=2)  # shortly before: in 1s
    assert await read_ca() == "PEM"  # tok-2 had expired: tok-3, good for a second
    assert await read_ca() == "PEM"
    assert seen[2:] == ["Bearer tok-3", "Bearer tok-3"]
    await asyncio.sleep(1.2)
    assert await read_ca() == "PEM"
    assert seen[4:] == ["Bearer tok-4"]
    plugin.configure(apiVersion=V1, token="tok", expires_in=3600)
    await asyncio.sleep(1.2)
    for _ in range(3):
        assert await read_ca() == "PEM"
    assert seen[5:] == ["Bearer tok-5"] * 3  # cached until a minute before it expires
    creds = kube.credentials()
    assert creds.expiration is not None and creds.refresh_at is not None
    assert creds.expiration - creds.refresh_at == kube.EXEC_REFRESH_MARGIN
    assert len(plugin.runs()) == 5
    await kube.close()


async def test_a_401_runs_the_exec_plugin_again_once(
    recording_server: tuple[str, list[str], set[str]],
    plugin: Plugin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen, rejected = recording_server
    plugin.configure(token="tok", expires_in=3600)
    config = write_kubeconfig(tmp_path / "config", {"server": url}, {"exec": plugin.exec_config()})
    monkeypatch.setenv("KUBECONFIG", str(config))
    rejected.add("Bearer tok-1")  # revoked before it expires
    assert await read_ca() == "PEM"
    assert seen == ["Bearer tok-1", "Bearer tok-2"]
    rejected.update({"Bearer tok-2", "Bearer tok-3", "Bearer tok-4"})
    with pytest.raises(kube.KubeApiError) as failed:
        await read_ca()
    assert failed.value.status == 401
    assert seen[2:] == ["Bearer tok-2", "Bearer tok-3"]  # once more, not in a loop
    assert len(plugin.runs()) == 3
    await kube.close()


async def test_exec_plugin_runs_off_the_event_loop_once_for_concurrent_requests(
    recording_server: tuple[str, list[str], set[str]],
    plugin: Plugin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen, _ = recording_server
    plugin.configure(token="tok")
    slow = tmp_path / "slow.py"
    slow.write_text(
        f"import runpy, sys, time\ntime.sleep(0.5)\nrunpy.run_path({str(plugin.script)!r})\n"
    )
    exec_config = plugin.exec_config()
    exec_config["args"][0] = str(slow)
    config = write_kubeconfig(tmp_path / "config", {"server": url}, {"exec": exec_config})
    monkeypatch.setenv("KUBECONFIG", str(config))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        answers = await asyncio.gather(*(read_ca() for _ in range(5)))
    finally:
        ticker.cancel()
    assert answers == ["PEM"] * 5
    assert ticks >= 20  # the loop kept running while the plugin slept
    assert seen == ["Bearer tok-1"] * 5 and len(plugin.runs()) == 1
    await kube.close()


async def test_v1_exec_plugin_client_certificate_with_cluster_info(
    plugin: Plugin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tls_server: Callable[..., Any],
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    url = await tls_server(server_context)
    client = ca.issue_cert("operator@example", common_name="system:exec-operator")
    plugin.configure(
        apiVersion=V1,
        clientCertificateData=client.cert_chain_pems[0].bytes().decode(),
        clientKeyData=client.private_key_pem.bytes().decode(),
    )
    cluster = {
        "server": url,
        "certificate-authority-data": b64(ca.cert_pem.bytes()),
        "extensions": [
            {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "plo"}}
        ],
    }
    exec_config = plugin.exec_config(interactiveMode="IfAvailable", provideClusterInfo=True)
    config = write_kubeconfig(tmp_path / "config", cluster, {"exec": exec_config})
    monkeypatch.setenv("KUBECONFIG", str(config))
    answer = await kube.request("GET", "/api/v1/namespaces/whoami")
    assert answer["metadata"]["name"] == "system:exec-operator"
    (run,) = plugin.runs()
    assert run["info"]["apiVersion"] == V1
    assert run["info"]["spec"] == {
        "interactive": False,
        "cluster": {
            "server": url,
            "certificate-authority-data": b64(ca.cert_pem.bytes()),
            "config": {"audience": "plo"},
        },
    }
    creds = kube.credentials()
    assert creds.token is None and creds.expiration is None
    assert creds.to_kopf().as_ssl_context().verify_mode == ssl.CERT_REQUIRED
    await kube.close()


def test_a_failing_exec_plugin_names_its_command_and_stderr(plugin: Plugin, tmp_path: Path) -> None:
    plugin.configure(token="tok", exit=3, stderr="An error occurred (ExpiredToken)\n")
    config = write_kubeconfig(
        tmp_path / "config", {"server": "https://eks"}, {"exec": plugin.exec_config()}
    )
    with pytest.raises(kube.ExecPluginError) as failed:
        kube.kubeconfig_credentials([str(config)])
    message = str(failed.value)
    assert f"exec plugin {sys.executable} failed with exit status 3" in message
    assert "stderr: An error occurred (ExpiredToken)" in message
    assert "context 'ctx', user 'u'" in message


@pytest.mark.parametrize(
    ("exec_config", "error"),
    [
        (
            {"apiVersion": V1BETA1, "command": "plo-missing", "installHint": "brew install it"},
            r"exec plugin plo-missing was not found: brew install it",
        ),
        (
            {"apiVersion": V1, "command": "plo-missing"},
            r"exec plugin plo-missing was not found \(No such file",
        ),
        (
            {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "aws"},
            r"exec plugin 'aws' has apiVersion .*v1alpha1.*the operator runs",
        ),
        (
            {"apiVersion": V1, "command": "aws", "interactiveMode": "Always"},
            r"interactiveMode Always.*no terminal",
        ),
    ],
)
def test_exec_plugin_configuration_errors_are_clear(
    tmp_path: Path, exec_config: dict[str, Any], error: str
) -> None:
    config = write_kubeconfig(tmp_path / "config", {"server": "https://eks"}, {"exec": exec_config})
    with pytest.raises(kube.KubeConfigError, match=error):
        kube.kubeconfig_credentials([str(config)])


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"answer": V1}, r"configured for .*v1beta1 and answered .*v1'"),
        ({"token": ""}, r"neither a token nor a client certificate"),
        ({"clientCertificateData": "PEM"}, r"only one of clientCertificateData"),
    ],
)
def test_exec_plugin_answers_are_checked(
    plugin: Plugin, tmp_path: Path, spec: dict[str, Any], error: str
) -> None:
    plugin.configure(**{"token": "tok", **spec})
    config = write_kubeconfig(
        tmp_path / "config", {"server": "https://eks"}, {"exec": plugin.exec_config()}
    )
    with pytest.raises(kube.ExecPluginError, match=error):
        kube.kubeconfig_credentials([str(config)])


def test_a_static_token_wins_over_the_exec_plugin(plugin: Plugin, tmp_path: Path) -> None:
    plugin.configure(token="tok")
    config = write_kubeconfig(
        tmp_path / "config",
        {"server": "https://eks"},
        {"token": "static", "exec": plugin.exec_config()},
    )
    assert kube.kubeconfig_credentials([str(config)]).token == "static"
    assert plugin.runs() == []


async def test_an_exec_plugin_failing_at_renewal_is_a_transient_request_error(
    recording_server: tuple[str, list[str], set[str]],
    plugin: Plugin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen, _ = recording_server
    plugin.configure(token="tok", expires_in=-1)
    config = write_kubeconfig(tmp_path / "config", {"server": url}, {"exec": plugin.exec_config()})
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert await read_ca() == "PEM"
    plugin.configure(token="tok", exit=1, stderr="could not reach sts")
    with pytest.raises(kube.KubeConnectionError) as failed:
        await read_ca()
    reason = kube.transient_api_error(failed.value) or ""
    assert reason.startswith("credentials: ") and "could not reach sts" in reason
    plugin.configure(token="tok")
    assert await read_ca() == "PEM"  # the next pass works again
    assert seen == ["Bearer tok-1", "Bearer tok-3"]
    await kube.close()


async def test_kopf_login_gets_an_expiration_and_fresh_credentials_at_each_relogin(
    plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    import kopf

    from privatelink_operator import runner

    plugin.configure(token="tok", expires_in=900)  # aws eks get-token: 15 minutes
    config = write_kubeconfig(
        tmp_path / "config", {"server": "https://eks"}, {"exec": plugin.exec_config()}
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    kube.credentials()  # run's start-up check
    first = await runner.login()
    assert first.token == "tok-1"  # the start-up credentials, not a second run
    assert first.expiration is not None
    left = first.expiration - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(seconds=830) < left <= datetime.timedelta(seconds=840)
    second = await runner.login()  # kopf: a 401, or that expiration reached
    assert second.token == "tok-2"
    assert (await kube.credentials_async()).token == "tok-2"  # the operator's own requests too
    plugin.configure(token="tok", expires_in=5)  # shorter than the margin: kopf waits 10s
    third = await runner.login()
    assert third.token == "tok-3" and third.expiration is not None
    assert third.expiration - datetime.datetime.now(datetime.UTC) > datetime.timedelta(seconds=9)
    plugin.configure(token="tok", exit=1, stderr="sso session expired")
    with pytest.raises(kopf.TemporaryError, match="sso session expired"):
        await runner.login()  # kopf retries the login rather than stopping
    static = write_kubeconfig(tmp_path / "static", {"server": "https://eks"}, {"token": "t"})
    monkeypatch.setenv("KUBECONFIG", str(static))
    kube.reset_client()
    assert (await runner.login()).expiration is None
