"""Subscriptions for outgoing webhooks, and the addresses they may never point at.

Link-local and other special-purpose addresses include every cloud's instance metadata service;
a subscription there would let whoever can add one read the server's credentials. The policy
(``connectors.outgoing.AddressPolicy``) refuses them when the subscription is added, and the
notify job checks again at each delivery and connects only to the address it checked (a name
can be re-pointed after it was added). Loopback and private addresses stay allowed: automation
on the same host or LAN is the normal case for an on-premises body.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.addresses import AddressPolicy
from connectors.http import HttpError
from connectors.outgoing import check_url as http_check_url
from service.models.service import Subscription
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow
from service.store.outbox import EVENTS

# Where subscribers may be, by default: applied here when a subscription is added and by the
# notify job before each delivery (connectors/outgoing.py). A deployment narrows it with
# PINGYI_WEBHOOKS_ALLOW_LOOPBACK / PINGYI_WEBHOOKS_ALLOW_PRIVATE (Config.outgoing).
ADDRESSES = AddressPolicy()


def check_url(url: str, resolve: bool = True, policy: AddressPolicy = ADDRESSES) -> None:
    """Refuse URLs that are not http(s) or that are (or resolve to) a refused address."""
    try:
        http_check_url(url, policy, resolve=resolve)
    except HttpError as exc:
        raise StoreError(f"{url!r}: {exc}") from None


def add_subscription(
    session: Session,
    url: str,
    events: list[str],
    secret_env: str,
    policy: AddressPolicy = ADDRESSES,
) -> Subscription:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise StoreError(f"unknown event {unknown[0]!r} (known: {', '.join(EVENTS)})")
    if not events:
        raise StoreError("name at least one event (--events)")
    check_url(url, policy=policy)
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
