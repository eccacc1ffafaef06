"""Subscriptions for outgoing webhooks, and the addresses they may never point at.

Link-local addresses (169.254.0.0/16, fe80::/10) include every cloud's instance metadata
service; a subscription there would let whoever can add one read the server's credentials.
They are refused when the subscription is added and checked again before every delivery (a
name can be re-pointed after it was added). Loopback and private addresses stay allowed:
automation on the same host or LAN is the normal case for an on-premises body.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.service import Subscription
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow
from service.store.outbox import EVENTS

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"}
METADATA_ADDRESSES = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS metadata over IPv6
}


def refused_address(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if ip.is_link_local or ip in METADATA_ADDRESSES:
        return f"{address} is a link-local or metadata address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{address} is not a unicast address"
    return None


def check_url(url: str, resolve: bool = True) -> None:
    """Refuse URLs that are not http(s) or that point at link-local/metadata addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"{url!r}: an http:// or https:// URL is required")
    host = parts.hostname.lower().rstrip(".")
    if host in METADATA_HOSTS:
        raise StoreError(f"{url!r}: {host} is a cloud metadata host")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise StoreError(f"{url!r}: cannot resolve {host} ({exc.strerror or exc})") from None
        addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        reason = refused_address(address.split("%")[0])
        if reason:
            raise StoreError(f"{url!r}: {reason}")


def add_subscription(
    session: Session, url: str, events: list[str], secret_env: str
) -> Subscription:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise StoreError(f"unknown event {unknown[0]!r} (known: {', '.join(EVENTS)})")
    if not events:
        raise StoreError("name at least one event (--events)")
    check_url(url)
    if not secret_env:
        raise StoreError("--secret-env names the variable holding the whsec_ secret")
    sub = Subscription(
        url=url, events=events, secret_env=secret_env, active=True, created_at=utcnow()
    )
    session.add(sub)
    session.flush()
    append_audit(session, "subscription.add", {"id": sub.id, "url": url, "events": events})
    return sub


def list_subscriptions(session: Session) -> list[Subscription]:
    return list(session.scalars(select(Subscription).order_by(Subscription.id)))
