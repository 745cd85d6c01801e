"""Webhook requests go only to the address that was checked, and only public ones are.

Receivers listen on loopback addresses (127.0.0.1, 127.0.0.2); a scripted resolver stands in
for DNS, so that a name can answer one address at the check and another afterwards.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from riskmodels.models import WebhookDelivery, WebhookEvent
from riskmodels.outbound import RefusedURL, is_public_address, resolve_target
from riskmodels.services import compute_exposure
from riskmodels.webhooks import WebhookDeliveryError, create_webhook_endpoint, deliver_webhook
from tests.factories import worked_check

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one bound
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "64:ff9b::7f00:1",
        "64:ff9b:1::a00:1",
        "2002:7f00:1::1",
        "2001:0:7f00:1::1",
        "fec0::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "ff0e::1",
        "2001:db8::1",
    ],
)
def test_addresses_that_reach_inward_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.fixture
def resolver(monkeypatch) -> Callable[[str, list[str]], list[str]]:
    """`script(name, answers)`: the name answers each address of `answers` in turn (the
    last one from then on); the answers given are recorded, in order."""
    scripts: dict[str, list[str]] = {}
    given: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in scripts:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        answers = scripts[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        given.append(address)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    def script(name: str, answers: list[str]) -> list[str]:
        scripts[name] = list(answers)
        return given

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return script


def test_only_the_allowed_private_networks_pass_the_check(resolver):
    resolver("hooks.lab.test", ["127.0.0.2"])
    allowed = resolve_target("http://hooks.lab.test/x", allowed=["127.0.0.0/30"])
    assert allowed.address == "127.0.0.2"
    with pytest.raises(RefusedURL, match="public addresses only"):
        resolve_target("http://hooks.lab.test/x", allowed=["127.0.0.1/32"])


def test_a_name_that_resolves_inward_is_refused_at_the_check(resolver):
    resolver("hooks.rebind.test", ["8.8.8.8", "169.254.169.254"])
    resolve_target("https://hooks.rebind.test/x", allow_private=False)  # first answer: public
    with pytest.raises(RefusedURL, match="public addresses only"):
        resolve_target("https://hooks.rebind.test/x", allow_private=False)


class Server:
    """A receiver on one loopback address: the paths it was posted to."""

    def __init__(self, address: str, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.posted: list[str] = []
        posted = self.posted

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                posted.append(f"{self.headers['Host']}{self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((address, port), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def _hooked_event(tenants, url: str):
    """An endpoint at `url` and an alert event for it (its delivery left to the test)."""
    endpoint = create_webhook_endpoint(user=tenants.alice, portfolio=tenants.fund_a, url=url)
    worked_check(tenants.fund_a)
    compute_exposure(portfolio_id=tenants.fund_a.pk)  # its deliveries wait for a commit
    return endpoint.endpoint, WebhookEvent.objects.filter(portfolio=tenants.fund_a).first()


def test_a_delivery_connects_to_the_address_checked_not_to_a_later_answer(
    tenants, resolver, servers, settings
):
    # Only the first receiver's address may be called: a second resolution would reach the
    # other, as a rebinding name reaches an internal address after passing the check.
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    checked = Server("127.0.0.1")
    servers.append(checked)
    servers.append(inward := Server("127.0.0.2", checked.port))
    url = f"http://hooks.rebind.test:{checked.port}/hook?fund=a"
    answers = resolver("hooks.rebind.test", ["127.0.0.1"])  # when the endpoint is saved
    endpoint, event = _hooked_event(tenants, url)
    assert event is not None
    # From now on the name answers 127.0.0.2 after its first answer, as a rebinding DNS would.
    answers.clear()
    resolver("hooks.rebind.test", ["127.0.0.1", "127.0.0.2"])

    delivery = deliver_webhook(endpoint_id=endpoint.pk, event_id=event.pk, attempt=1)

    assert delivery is not None and delivery.succeeded
    assert checked.posted == [f"hooks.rebind.test:{checked.port}/hook?fund=a"]
    assert inward.posted == []
    assert answers == ["127.0.0.1"]  # resolved once for the delivery


def _certificates(directory: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A CA file, and a server TLS context whose certificate that CA signed for `name`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    chain = directory / "server.pem"
    chain.write_bytes(
        leaf.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


@pytest.mark.parametrize(
    ("certified", "delivered"), [("hooks.tls.test", True), ("other.test", False)]
)
def test_tls_is_verified_against_the_host_name_not_the_address(
    tenants, resolver, servers, settings, tmp_path, certified, delivered
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    ca_file, context = _certificates(tmp_path, certified)
    settings.WEBHOOK_CA_BUNDLE = str(ca_file)
    servers.append(server := Server("127.0.0.1", tls=context))
    resolver("hooks.tls.test", ["127.0.0.1"])
    endpoint, event = _hooked_event(tenants, f"https://hooks.tls.test:{server.port}/hook")

    if delivered:
        result = deliver_webhook(endpoint_id=endpoint.pk, event_id=event.pk, attempt=1)
        assert result is not None and result.succeeded
        assert server.posted == [f"hooks.tls.test:{server.port}/hook"]
        return
    with pytest.raises(WebhookDeliveryError, match=r"SSL"):
        deliver_webhook(endpoint_id=endpoint.pk, event_id=event.pk, attempt=1)
    logged = WebhookDelivery.objects.get(endpoint=endpoint)
    assert not logged.succeeded and "SSL" in logged.error
    assert server.posted == []
