"""Discovery on the studio LAN: the daemon announces itself with zeroconf (mDNS/DNS-SD), and
`dawgen discover` lists the daemons it hears.

- Service type `_dawgen._udp.local.`; instance `dawgen on <host name>`; the OSC port (UDP, and TCP
  on the same port); TXT `version`, `token` ("1": a client needs a token), `tcp` ("1") and `web`
  (the studio page's port, when it listens beyond loopback).
- Only a daemon bound to an address other than loopback announces itself (it is reachable from the
  LAN only then), and only with `[server] announce = true` (the default). A daemon bound to one
  address announces that address on that interface only; one bound to `0.0.0.0` / `::` its
  addresses except loopback.
- Announcing never stops the daemon: python-zeroconf missing, or the network refusing, is a warning.
  Registration runs on its own thread (probing takes about a second); the drain unregisters first
  (a "goodbye" packet), so a client's list drops the daemon as it stops taking jobs.
- Tests inject the zeroconf object (`make_zeroconf`, `make_browser`): nothing goes on the network.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from server import __version__
from server.config import Config, is_loopback

log = logging.getLogger("dawgen.discovery")

SERVICE_TYPE = "_dawgen._udp.local."
LABEL_BYTES = 63  # a DNS label's limit: the instance name's
STOP_SECONDS = 3.0
DISCOVER_SECONDS = 3.0
RESOLVE_MS = 1500


# -- announcing -------------------------------------------------------------------------------------
def should_announce(config: Config) -> bool:
    """Announce only a daemon the LAN can reach (a non-loopback bind), unless `[server] announce = false`."""
    return bool(config.server.announce) and not is_loopback(config.server.host)


def instance_name(hostname: str | None = None) -> str:
    """`dawgen on <short host name>`, cut to one DNS label, + the service type."""
    host = (hostname if hostname is not None else socket.gethostname()).split(".")[0] or "unknown"
    label = f"dawgen on {host}".encode()[:LABEL_BYTES].decode("utf-8", "ignore")
    return f"{label}.{SERVICE_TYPE}"


def properties(config: Config, web_port: int | None = None) -> dict[str, str]:
    """The TXT record: what a client needs to know before it sends its first request."""
    props = {"version": __version__, "token": "1" if config.clients or config.server.require_token else "0",
             "tcp": "1"}
    if web_port:
        props["web"] = str(web_port)
    return props


def lan_addresses(host: str) -> list[str]:
    """The addresses to announce for a bind on `host`: itself, or for a wildcard this machine's
    addresses (loopback left out). Reads the interfaces; sends nothing."""
    if _literal(host) and host not in ("0.0.0.0", "::"):
        return [host]
    import zeroconf

    found = list(zeroconf.get_all_addresses())
    if host == "::":
        found += [a[0] for a in zeroconf.get_all_addresses_v6()]
    return [a for a in found if not is_loopback(a) and not ipaddress.ip_address(a.split("%")[0]).is_link_local]


def default_zeroconf(host: str) -> Any:
    """A zeroconf instance on the interface the daemon is bound to (every interface for a wildcard)."""
    import zeroconf

    if host == "0.0.0.0" or not _literal(host):
        return zeroconf.Zeroconf(interfaces=zeroconf.InterfaceChoice.All)
    if host == "::":
        return zeroconf.Zeroconf(interfaces=zeroconf.InterfaceChoice.All, ip_version=zeroconf.IPVersion.All)
    version = zeroconf.IPVersion.V6Only if ":" in host else zeroconf.IPVersion.V4Only
    return zeroconf.Zeroconf(interfaces=[host], ip_version=version)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def service_info(config: Config, port: int, addresses: Iterable[str], web_port: int | None = None,
                 hostname: str | None = None) -> Any:
    from zeroconf import ServiceInfo

    host = (hostname if hostname is not None else socket.gethostname()).split(".")[0] or "dawgen"
    return ServiceInfo(SERVICE_TYPE, instance_name(hostname), port=port, properties=properties(config, web_port),
                       server=f"{host}.local.", parsed_addresses=list(addresses))


class Announcer:
    """The daemon's announcement: start() after the port is open, stop() first in the drain."""

    def __init__(self, config: Config, port: int, web_port: int | None = None,
                 make_zeroconf: Callable[[str], Any] | None = None,
                 addresses: Callable[[str], list[str]] | None = None, hostname: str | None = None) -> None:
        self.config, self.port, self.web_port = config, port, web_port
        self._make_zeroconf = make_zeroconf or default_zeroconf
        self._addresses = addresses or lan_addresses
        self._hostname = hostname
        self.zeroconf: Any = None
        self.info: Any = None
        self.registered = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return should_announce(self.config)

    def start(self, wait: bool = False) -> bool:
        """Register on a thread (`wait`: on this one); False when nothing is announced."""
        if not self.enabled:
            return False
        if wait:
            self._register()
        else:
            self._thread = threading.Thread(target=self._register, name="dawgen-announce", daemon=True)
            self._thread.start()
        return True

    def _register(self) -> None:
        host = self.config.server.host
        try:
            addresses = self._addresses(host)
            if not addresses:
                log.warning("not announced on the LAN: no address to announce for %s", host)
                return
            info = service_info(self.config, self.port, addresses, self.web_port, self._hostname)
            with self._lock:
                self.zeroconf, self.info = self._make_zeroconf(host), info
            self.zeroconf.register_service(info, allow_name_change=True)
            self.registered = True
            log.info("announced on the LAN as %r (%s, port %d)", info.name, ", ".join(addresses), self.port)
        except ImportError:
            log.warning("not announced on the LAN: python-zeroconf is not installed (pip install zeroconf)")
        except Exception as exc:  # noqa: BLE001 - discovery is a convenience: the daemon serves without it
            log.warning("not announced on the LAN: %s", exc)

    def stop(self) -> None:
        """Unregister (the goodbye packet) and close; never raises."""
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
        with self._lock:
            zc, info, self.zeroconf = self.zeroconf, self.info, None
        if zc is None:
            return
        try:
            if self.registered:
                zc.unregister_service(info)
                self.registered = False
                log.info("no longer announced on the LAN")
        except Exception as exc:  # noqa: BLE001
            log.warning("unregistering from the LAN failed: %s", exc)
        finally:
            try:
                zc.close()
            except Exception:  # noqa: BLE001
                pass


# -- discovering ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """A daemon heard on the LAN."""

    name: str                    # the instance label: "dawgen on studio-pc"
    addresses: tuple[str, ...]
    port: int
    token: bool                  # a client needs a token ([clients.NAME])
    version: str
    tcp: bool = True
    web_port: int = 0
    server: str = ""

    @property
    def host(self) -> str:
        return self.addresses[0] if self.addresses else self.server.rstrip(".")

    def send_hint(self) -> str:
        token = " --token TOKEN" if self.token else ""
        host = self.host
        return f"dawgen send ping --host {host} --port {self.port}{token}"


def found_from_info(info: Any) -> Found:
    """A resolved ServiceInfo as a Found (TXT values are bytes; missing ones read as unknown)."""
    props = {(k.decode() if isinstance(k, bytes) else str(k)): (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
             for k, v in (info.properties or {}).items()}
    name = info.name[: -len("." + SERVICE_TYPE)] if info.name.endswith("." + SERVICE_TYPE) else info.name
    web = props.get("web") or ""
    return Found(name=name, addresses=tuple(info.parsed_scoped_addresses()), port=int(info.port or 0),
                 token=props.get("token", "1") != "0", version=str(props.get("version") or "?"),
                 tcp=props.get("tcp", "1") == "1", web_port=int(web) if str(web).isdigit() else 0,
                 server=str(info.server or ""))


def browse(seconds: float = DISCOVER_SECONDS, make_zeroconf: Callable[[], Any] | None = None,
           make_browser: Callable[..., Any] | None = None, sleep: Callable[[float], None] = time.sleep) -> list[Found]:
    """Listen for `seconds`, then resolve each daemon heard; sorted by name."""
    from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

    zc = make_zeroconf() if make_zeroconf is not None else Zeroconf()
    names: dict[str, None] = {}  # in the order heard
    lock = threading.Lock()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        # called on zeroconf's thread, with these keyword names; resolving waits until the listening ends
        with lock:
            if state_change is ServiceStateChange.Removed:
                names.pop(name, None)
            else:
                names[name] = None

    browser = (make_browser or ServiceBrowser)(zc, SERVICE_TYPE, handlers=[on_change])
    try:
        sleep(seconds)
        with lock:
            heard = list(names)
        found = []
        for name in heard:
            info = zc.get_service_info(SERVICE_TYPE, name, timeout=RESOLVE_MS)
            if info is not None:
                found.append(found_from_info(info))
    finally:
        browser.cancel()
        zc.close()
    return sorted(found, key=lambda f: (f.name.lower(), f.host))


def format_found(found: list[Found], seconds: float = DISCOVER_SECONDS) -> str:
    """`dawgen discover`'s table: one daemon a line, then how to reach the first."""
    if not found:
        return (f"no dawgen daemon heard on the LAN in {seconds:g} s (a daemon announces itself when it "
                "listens beyond loopback: [server] host, announce = true)\n")
    rows = [("NAME", "ADDRESS", "PORT", "TOKEN", "WEB", "VERSION")]
    for f in found:
        rows.append((f.name, ", ".join(f.addresses) or f.host, str(f.port), "yes" if f.token else "no",
                     str(f.web_port) if f.web_port else "-", f.version))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([*lines, "", f"e.g. {found[0].send_hint()}"]) + "\n"


def found_json(found: list[Found]) -> str:
    return json.dumps([{**asdict(f), "addresses": list(f.addresses), "host": f.host} for f in found], indent=2)


def run_discover(seconds: float, as_json: bool, out: Any, err: Any = None) -> int:
    try:
        found = browse(seconds)
    except ImportError:
        print("dawgen discover: python-zeroconf is not installed (pip install zeroconf)", file=err)
        return 2
    out.write(found_json(found) + "\n" if as_json else format_found(found, seconds))
    return 0
