"""Which addresses an outgoing webhook may reach: the policy alone, without the HTTP client.

``service.config`` holds a policy in every process's settings; kept apart from
``connectors.outgoing`` (which brings urllib3 and requests), reading the settings does not
import an HTTP client, and every ``pingyi`` command starts that much sooner.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names some clouds answer metadata on from inside an instance.
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"}
)
# Metadata and platform endpoints outside the ranges below (which hold the rest: 169.254.169.254
# in link-local, Alibaba's 100.100.100.200 in shared space, Oracle's 192.0.0.192 in 192.0.0.0/24).
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("fd00:ec2::254"),  # AWS metadata over IPv6 (a private ULA)
        ipaddress.ip_address("168.63.129.16"),  # Azure's WireServer (a public address)
    }
)
# IETF special-purpose ranges (the IANA registries of RFC 6890) that are never a subscriber,
# listed here rather than left to ``ipaddress``, whose idea of "private" and "global" changed
# between Python versions (3.11 calls 192.0.0.192 global).
_SPECIAL = [
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network'"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT, cloud metadata)"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("192.0.0.0/24", "IETF protocol assignments (cloud metadata)"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments (Teredo, ORCHID, …)"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
]
_LAN = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
_LAN.append(ipaddress.ip_network("fc00::/7"))  # unique local
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses an outgoing webhook may reach. Loopback and private (LAN) addresses are
    allowed by default: automation on the same host or network is the normal case for an
    on-premises body. Everything else must be globally routable and not a metadata endpoint."""

    allow_loopback: bool = True
    allow_private: bool = True

    def refusal(self, address: str | IPAddress) -> str | None:
        """Why ``address`` is refused, or None when it may be connected to."""
        ip = ipaddress.ip_address(str(address).split("%")[0])  # a zone id changes no rule
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            inner = self.refusal(ip.ipv4_mapped)  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return f"{ip} is {ip.ipv4_mapped}: {inner}" if inner else None
        if ip in _NAT64:
            # A NAT64 gateway forwards to the embedded IPv4 address, which must be global.
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            inner = AddressPolicy(False, False).refusal(embedded)
            return f"{ip} is NAT64 for {embedded}: {inner}" if inner else None
        if ip in METADATA_ADDRESSES:
            return f"{ip} is a cloud metadata address"
        if ip.is_loopback:
            return None if self.allow_loopback else f"{ip} is a loopback address"
        for net, why in _SPECIAL:
            if ip.version == net.version and ip in net:
                return f"{ip} is in {net}: {why}"
        if any(ip.version == net.version and ip in net for net in _LAN):
            return None if self.allow_private else f"{ip} is a private address"
        if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return f"{ip} is not a globally routable unicast address"
        return None
