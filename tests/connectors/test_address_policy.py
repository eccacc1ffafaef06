"""Where an outgoing webhook may connect (issue #9 item 9): one policy for IPv4 and IPv6, the
name resolved once, every address checked, and the connection made to the checked address with
the URL's host kept as Host header and TLS server name."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from connectors.http import HttpError
from connectors.outgoing import AddressPolicy, AddressRefused, check_url, post_pinned

DEFAULT = AddressPolicy()
NO_LOOPBACK = AddressPolicy(allow_loopback=False)
NO_PRIVATE = AddressPolicy(allow_private=False)

ALLOWED = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",  # refused before the fix: ipaddress calls ::/8 "reserved"
    "::ffff:127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.10",
    "fd12:3456::1",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "::ffff:8.8.8.8",
]
REFUSED = [
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack metadata
    "169.254.170.2",  # ECS task metadata
    "fe80::1",
    "fe80::1%eth0",
    "192.0.0.192",  # Oracle Cloud metadata; accepted before the fix
    "100.100.100.200",  # Alibaba Cloud metadata
    "100.64.0.1",  # shared address space
    "fd00:ec2::254",  # AWS metadata over IPv6
    "168.63.129.16",  # Azure WireServer
    "::ffff:169.254.169.254",
    "::ffff:192.0.0.192",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1: the gateway's loopback, not ours
    "64:ff9b::a01:203",  # NAT64 of 10.1.2.3
    "64:ff9b:1::1",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "192.88.99.1",
    "2001:db8::1",
    "2001::1",  # Teredo
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "100::1",
    "fec0::1",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "::a9fe:a9fe",  # IPv4-compatible (deprecated)
]


@pytest.mark.parametrize("address", ALLOWED)
def test_allowed_addresses(address: str) -> None:
    assert DEFAULT.refusal(address) is None


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address: str) -> None:
    assert DEFAULT.refusal(address) is not None
    assert NO_LOOPBACK.refusal(address) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.9.9.9"])
def test_loopback_only_when_the_policy_allows_it_for_v4_and_v6_alike(address: str) -> None:
    assert DEFAULT.refusal(address) is None
    assert "loopback" in (NO_LOOPBACK.refusal(address) or "")


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.0.1", "fd00::1", "::ffff:10.0.0.1"])
def test_private_only_when_the_policy_allows_it(address: str) -> None:
    assert DEFAULT.refusal(address) is None
    assert "private" in (NO_PRIVATE.refusal(address) or "")


class Resolver:
    """getaddrinfo for made-up names, counting its calls; a name it does not know fails."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, *args: object, **kw: object) -> list:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.table[host]
        ]


def test_a_name_is_refused_when_any_of_its_addresses_is() -> None:
    resolver = Resolver({"mixed.pingyi.test": ["8.8.8.8", "169.254.169.254"]})
    with pytest.raises(AddressRefused, match=re.escape("mixed.pingyi.test: 169.254.169.254")):
        check_url("https://mixed.pingyi.test/hook", DEFAULT, resolver=resolver)
    with pytest.raises(AddressRefused, match="metadata host"):
        check_url("http://metadata.google.internal./x", DEFAULT, resolve=False)
    with pytest.raises(HttpError, match="http:// or https://"):
        check_url("file:///etc/passwd", DEFAULT)


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 500 to every POST and records its Host header and path."""

    seen: list[tuple[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.headers["Host"], self.path))  # type: ignore[attr-defined]
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(
    family: socket.AddressFamily, host: str, tls: ssl.SSLContext | None = None
) -> Iterator[http.server.ThreadingHTTPServer]:
    class Server(http.server.ThreadingHTTPServer):
        address_family = family

    server = Server((host, 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_ipv6_loopback_is_delivered_to() -> None:
    with serving(socket.AF_INET6, "::1") as server:
        port = server.server_address[1]
        assert post_pinned(f"http://[::1]:{port}/hook?k=1", b"{}", {}, DEFAULT) == 500
        assert server.seen == [(f"[::1]:{port}", "/hook?k=1")]
        with pytest.raises(AddressRefused, match="loopback"):
            post_pinned(f"http://[::1]:{port}/hook", b"{}", {}, NO_LOOPBACK)
    assert len(server.seen) == 1


def test_the_name_is_resolved_once_and_the_checked_address_connected_to() -> None:
    with serving(socket.AF_INET, "127.0.0.1") as server:
        port = server.server_address[1]
        # The system's resolver does not know this name: the request can only arrive if it was
        # sent to the address the policy checked, with the name kept as Host.
        resolver = Resolver({"hooks.pingyi.test": ["127.0.0.1"]})
        url = f"http://hooks.pingyi.test:{port}/in"
        assert post_pinned(url, b"{}", {}, DEFAULT, resolver=resolver) == 500
        assert resolver.calls == ["hooks.pingyi.test"]
        assert server.seen == [(f"hooks.pingyi.test:{port}", "/in")]
        # A first address that refuses the connection: the next checked one is tried, still
        # from the one lookup.
        resolver = Resolver({"hooks.pingyi.test": ["::1", "127.0.0.1"]})
        assert post_pinned(url, b"{}", {}, DEFAULT, resolver=resolver) == 500
        assert resolver.calls == ["hooks.pingyi.test"]
        assert len(server.seen) == 2
        # A name with one refused address is refused before anything is sent.
        resolver = Resolver({"hooks.pingyi.test": ["127.0.0.1", "192.0.0.192"]})
        with pytest.raises(AddressRefused):
            post_pinned(url, b"{}", {}, DEFAULT, resolver=resolver)
        assert len(server.seen) == 2


def test_nothing_listening_is_a_clear_error() -> None:
    with serving(socket.AF_INET, "127.0.0.1") as server:
        port = server.server_address[1]
    with pytest.raises(HttpError, match=rf"could not connect to 127\.0\.0\.1:{port} \(.*refused"):
        post_pinned(f"http://127.0.0.1:{port}/", b"{}", {}, DEFAULT)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.pingyi.test (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.pingyi.test",
         "-addext", "subjectAltName=DNS:hooks.pingyi.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_keeps_the_server_name_while_connecting_to_the_checked_address(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _sock, name, _ctx: names.append(name)
    with serving(socket.AF_INET, "127.0.0.1", tls) as server:
        port = server.server_address[1]
        resolver = Resolver(
            {"hooks.pingyi.test": ["127.0.0.1"], "other.pingyi.test": ["127.0.0.1"]}
        )
        url = f"https://hooks.pingyi.test:{port}/in"
        status = post_pinned(url, b"{}", {}, DEFAULT, resolver=resolver, ca_certs=str(cert))
        assert status == 500
        assert names == ["hooks.pingyi.test"]  # SNI: the name, not the address
        assert server.seen == [(f"hooks.pingyi.test:{port}", "/in")]
        # The certificate is checked against the URL's name: another name on the same address
        # is refused by TLS.
        with pytest.raises(HttpError, match=re.escape("TLS with other.pingyi.test failed")):
            post_pinned(
                f"https://other.pingyi.test:{port}/in",
                b"{}",
                {},
                DEFAULT,
                resolver=resolver,
                ca_certs=str(cert),
            )
        assert len(server.seen) == 1
