"""Other machines on this one: network namespaces, each joined to this machine by a veth pair.

A process started on such a host has a loopback of its own: it cannot reach this machine's
127.0.0.1, where PostgreSQL and Redis listen. For each server it needs, a forwarder
(``tests/harness/proxy.py``) listens on this machine's end of the host's veth pair, so the host
reaches the database and Redis over a network link, as a worker on another machine would. Its
processes also get a hostname of their own (a UTS namespace), a working directory and a temporary
directory of their own, and an environment with nothing of this machine's but what is passed.

Making namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), ``ip`` (iproute2) and
``unshare`` (util-linux). Without them the test that needs hosts fails naming the reason, or
skips with ``PINGYI_TEST_ALLOW_SKIP=1`` outside CI (``tests/harness/needed.py``).

Names carry this process's id and a random part, so parallel runs never meet; the hosts, their
veth pairs, forwarders and processes are removed at the end of the ``hosts`` block whatever
happened, and a later run removes what a killed run left behind. Addresses are /30 networks in
198.18.0.0/15 (RFC 2544's range for benchmark networks), chosen so that none is already in use.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.needed import missing
from tests.harness.processes import kill_tree, start_logged
from tests.harness.proxy import TcpProxy, address_of, via_proxy

PREFIX = "pingyi-"  # netns names: pingyi-<pid>-<hex>-<n>
_OURS = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+-\d+$")
NETWORK = ipaddress.ip_network("198.18.0.0/15")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def unavailable() -> str | None:
    """Why this machine cannot make hosts here, or None."""
    if os.geteuid() != 0:
        return f"network namespaces need root (this runs as uid {os.geteuid()})"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (iproute2, util-linux)"
    probe = f"{PREFIX}{os.getpid()}-probe{secrets.token_hex(3)}-0"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip() or made.returncode}"
    _ip("netns", "del", probe, check=False)
    return None


def require_hosts() -> None:
    """Fail (or skip, when allowed) the test that needs hosts, naming the reason."""
    reason = unavailable()
    if reason is not None:
        missing("Network namespaces (separate hosts)", reason)


def _netns_names() -> list[str]:
    listed = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def _delete_netns(name: str) -> None:
    """Kill what still runs in the namespace, then delete it (its veth pair goes with it)."""
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", name, check=False)


def remove_leftovers() -> None:
    """Delete hosts of runs on this machine whose process is gone (killed runs)."""
    for name in _netns_names():
        match = _OURS.match(name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _delete_netns(name)


def _used_networks() -> list[ipaddress.IPv4Network]:
    shown = _ip("-o", "-4", "addr", "show", check=False).stdout
    found = re.findall(r"inet (\d+\.\d+\.\d+\.\d+/\d+)", shown)
    return [ipaddress.ip_interface(a).network for a in found]


def _free_subnet(taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    for _ in range(200):
        offset = random.randrange(NETWORK.num_addresses // 4) * 4
        subnet = ipaddress.ip_network(f"{NETWORK.network_address + offset}/30")
        if not any(subnet.overlaps(t) for t in taken):
            return subnet
    raise RuntimeError(f"no free /30 in {NETWORK}")


@dataclass
class Host:
    """One namespace: ``name`` (also the hostname its processes see), this machine's end of
    its link (``gateway``, where its forwarders listen) and its own directory."""

    name: str
    gateway: str
    address: str
    directory: Path
    forwarders: dict[tuple[str, int], TcpProxy] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def url(self, url: str) -> str:
        """``url`` (a database or Redis on this machine) as this host reaches it."""
        target = address_of(url)
        if target not in self.forwarders:
            proxy = TcpProxy(target, host=self.gateway)
            proxy.start()
            self.forwarders[target] = proxy
        return via_proxy(url, self.forwarders[target])

    def command(self, args: list[str]) -> list[str]:
        """``args`` run in the namespace, under a hostname of its own."""
        set_name = 'hostname "$0" && exec "$@"'
        return ["ip", "netns", "exec", self.name, "unshare", "--uts", "--",
                "sh", "-c", set_name, self.name, *args]  # fmt: skip

    def start(self, args: list[str], environ: Mapping[str, str], log_name: str):
        """Start ``args`` on this host, in its directory with its own HOME and TMPDIR and only
        ``environ`` besides; returns the process and its log. Killed at the end of ``hosts``."""
        tmp = self.directory / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env = {"HOME": str(self.directory), "TMPDIR": str(tmp), "LANG": "C.UTF-8", **environ}
        log = self.directory / f"{log_name}-{len(self.processes)}.log"
        process = start_logged(self.command(args), log, self.directory, env)
        self.processes.append(process)
        return process, log

    def run(self, args: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        """Run ``args`` on this host to the end (output captured)."""
        return subprocess.run(
            self.command(args), capture_output=True, text=True, timeout=timeout, check=False
        )

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                kill_tree(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        for proxy in self.forwarders.values():
            proxy.stop()


def _veth(run: str, index: int) -> tuple[str, str]:
    """This machine's end and the host's end of host ``index``'s link (15 characters at most)."""
    return f"pyh{run}{index}", f"pyn{run}{index}"


def _make_host(
    name: str, link: tuple[str, str], subnet: ipaddress.IPv4Network, directory: Path
) -> Host:
    outside, inside = link
    gateway, address = (str(a) for a in subnet.hosts())
    _ip("netns", "add", name)
    _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
    _ip("link", "set", inside, "netns", name)
    _ip("addr", "add", f"{gateway}/30", "dev", outside)
    _ip("link", "set", outside, "up")
    _ip("-n", name, "addr", "add", f"{address}/30", "dev", inside)
    _ip("-n", name, "link", "set", inside, "up")
    _ip("-n", name, "link", "set", "lo", "up")
    directory.mkdir(parents=True, exist_ok=True)
    return Host(name, gateway, address, directory)


@contextmanager
def hosts(count: int, directory: Path) -> Iterator[list[Host]]:
    """``count`` hosts, each with a directory under ``directory``; all gone afterwards."""
    remove_leftovers()
    run = secrets.token_hex(3)
    made: list[str] = []
    made_hosts: list[Host] = []
    try:
        taken = _used_networks()
        for n in range(count):
            name = f"{PREFIX}{os.getpid()}-{run}-{n}"
            subnet = _free_subnet(taken)
            taken.append(subnet)
            made.append(name)
            made_hosts.append(_make_host(name, _veth(run, n), subnet, directory / f"host{n}"))
        yield made_hosts
    finally:
        for host in made_hosts:
            host.close()
        for name in made:
            _delete_netns(name)
        for n in range(len(made)):  # the pair goes with its namespace; this is for certainty
            _ip("link", "del", _veth(run, n)[0], check=False)
