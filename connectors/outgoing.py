"""Where an outgoing webhook may connect, and a POST pinned to the address that was checked.

A subscription URL is written by staff but served by whoever runs its DNS, so it is judged
address by address, the same way for IPv4 and IPv6: the name is resolved once, every address it
resolves to is checked, and the connection goes to a checked address, with the URL's host kept
as the Host header and as the TLS server name, so a second lookup cannot swap in an address that
was never checked (DNS rebinding). Errors name the host and address, never a URL query, a body
or a header.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from connectors.addresses import METADATA_HOSTS, AddressPolicy, IPAddress
from connectors.http import HttpError

__all__ = ["AddressPolicy", "AddressRefused", "check_url", "post_pinned", "resolve_checked"]


class AddressRefused(HttpError):
    """The URL points somewhere pingyi must never send to."""


Resolver = Callable[..., list]


def resolve_checked(
    host: str, port: int, policy: AddressPolicy, resolver: Resolver | None = None
) -> list[IPAddress]:
    """Resolve ``host`` once and check every address it has; the addresses, in the resolver's
    order, or AddressRefused naming the first one refused (one bad address refuses the name:
    which one a later connection would use is not ours to choose)."""
    name = host.lower().rstrip(".")
    if name in METADATA_HOSTS:
        raise AddressRefused(f"{name} is a cloud metadata host")
    literal = _ip_literal(name)
    addresses = [literal] if literal is not None else _lookup(name, port, resolver)
    for ip in addresses:
        reason = policy.refusal(ip)
        if reason:
            raise AddressRefused(reason if literal is not None else f"{name}: {reason}")
    return addresses


def _lookup(name: str, port: int, resolver: Resolver | None) -> list[IPAddress]:
    """The name's addresses, once each, in the resolver's order (``socket.getaddrinfo``
    unless a test gives another)."""
    try:
        infos = (resolver or socket.getaddrinfo)(name, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise HttpError(f"cannot resolve {name} ({exc.strerror or exc})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise HttpError(f"{name} has no address")
    return addresses


def _ip_literal(host: str) -> IPAddress | None:
    """The address a URL's host spells literally (a zone id dropped), or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def check_url(
    url: str, policy: AddressPolicy, resolve: bool = True, resolver: Resolver | None = None
) -> None:
    """Refuse a URL that is not http(s) or whose host is (or resolves to) a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError("an http:// or https:// URL is required")
    host = parts.hostname
    if not resolve and _ip_literal(host) is None:
        if host.lower().rstrip(".") in METADATA_HOSTS:
            raise AddressRefused(f"{host} is a cloud metadata host")
        return
    resolve_checked(host, parts.port or _DEFAULT_PORTS[parts.scheme], policy, resolver)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def post_pinned(
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: AddressPolicy,
    timeout: tuple[float, float] = (3.05, 10.0),
    resolver: Resolver | None = None,
    ca_certs: str | None = None,
) -> int:
    """POST ``body`` to ``url`` at an address checked by ``policy``; returns the HTTP status.

    The name is resolved once (``resolve_checked``) and the connection made to a checked
    address through urllib3's connection pool for that address, with the URL's host as the Host
    header and, for https, as the TLS server name (SNI) and the name the certificate must match
    (``server_hostname`` / ``assert_hostname``). No redirect is followed and no proxy from the
    environment is used. If connecting to one address fails, the next checked one is tried.
    ``ca_certs`` replaces the system's trust store (tests).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError("an http:// or https:// URL is required")
    host, port = parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme]
    addresses = resolve_checked(host, port, policy, resolver)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    is_ip = _ip_literal(host) is not None
    authority = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        authority += f":{parts.port}"
    pool_kw: dict[str, Any] = {}
    if parts.scheme == "https":
        pool_kw = {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_certs, "assert_hostname": host}
        if not is_ip:
            pool_kw["server_hostname"] = host
    pool_class = HTTPSConnectionPool if parts.scheme == "https" else HTTPConnectionPool
    problem = ""
    for address in addresses:
        pool = pool_class(
            str(address),
            port,
            timeout=Timeout(connect=timeout[0], read=timeout[1]),
            retries=False,
            maxsize=1,
            **pool_kw,
        )
        try:
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers={**headers, "Host": authority},
                redirect=False,
                assert_same_host=False,
                retries=False,
                preload_content=False,
            )
            status = response.status
            response.release_conn()
            return status
        except (NewConnectionError, ConnectTimeoutError) as exc:
            problem = f"could not connect to {_bracketed(address)}:{port} ({_why(exc)})"
        except urllib3.exceptions.SSLError as exc:
            raise HttpError(f"TLS with {host} failed ({_why(exc)})") from None
        except urllib3.exceptions.ReadTimeoutError:
            raise HttpError(f"no answer from {host} within {timeout[1]:g} s") from None
        except urllib3.exceptions.HTTPError as exc:
            raise HttpError(f"{host}: {type(exc).__name__}") from None
        finally:
            pool.close()
    raise HttpError(problem)


def _bracketed(ip: IPAddress) -> str:
    return f"[{ip}]" if ip.version == 6 else str(ip)


def _why(exc: BaseException) -> str:
    """The OS's reason (e.g. "Connection refused") without urllib3's object reprs."""
    reason = exc
    while reason.__context__ is not None and not isinstance(reason, OSError | ssl.SSLError):
        reason = reason.__context__
    text = getattr(reason, "strerror", None) or getattr(reason, "reason", None) or ""
    return str(text) or type(exc).__name__
