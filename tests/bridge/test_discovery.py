"""Discovery (bridge/discovery.py) in-process: the zeroconf object is a fake that records what it is
asked, so no test sends a multicast or mDNS packet. The addresses in these tests are data handed to
the fake (192.0.2.0/24 is TEST-NET-1, documentation only): nothing binds or sends to them."""
from __future__ import annotations

import io
import json
import logging

import pytest

from bridge import discovery
from bridge.discovery import SERVICE_TYPE, Announcer, Found, browse, format_found, found_from_info, service_info
from server import __version__
from server.config import load

zeroconf = pytest.importorskip("zeroconf")

TOKEN = "alice-token-" + "a" * 20
LAN = "192.0.2.10"


@pytest.fixture(autouse=True)
def no_network_zeroconf(monkeypatch):
    """A real Zeroconf or ServiceBrowser would join the multicast group: any attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a real zeroconf object was made (it would send mDNS packets)")

    monkeypatch.setattr(zeroconf, "Zeroconf", refuse)
    monkeypatch.setattr(zeroconf, "ServiceBrowser", refuse)


class FakeZeroconf:
    """Records register/unregister/close; answers get_service_info from `infos` (recorded ServiceInfo)."""

    def __init__(self, infos=None, fail: Exception | None = None, on_unregister=None) -> None:
        self.calls: list[tuple] = []
        self.infos = {i.name: i for i in infos or []}
        self.fail, self.on_unregister = fail, on_unregister

    def register_service(self, info, allow_name_change=False):
        if self.fail is not None:
            raise self.fail
        self.calls.append(("register", info))

    def unregister_service(self, info):
        if self.on_unregister is not None:
            self.on_unregister()
        self.calls.append(("unregister", info))

    def close(self):
        self.calls.append(("close",))

    def get_service_info(self, type_, name, timeout=3000):
        self.calls.append(("resolve", type_, name))
        return self.infos.get(name)


class FakeBrowser:
    """Plays state changes to the handlers at once, as zeroconf's thread would while listening."""

    def __init__(self, changes):
        self.changes, self.made, self.cancelled = changes, [], False

    def __call__(self, zc, type_, handlers):
        self.made.append((zc, type_))
        for name, change in self.changes:
            for handler in handlers:
                handler(zeroconf=zc, service_type=type_, name=name, state_change=change)
        return self

    def cancel(self):
        self.cancelled = True


def lan_config(host=LAN, **server):
    return load(None, {"server.host": host, "clients.alice": {"token": TOKEN},
                       **{f"server.{k}": v for k, v in server.items()}})


def recorder():
    made: list[tuple[str, FakeZeroconf]] = []

    def make(host):
        zc = FakeZeroconf()
        made.append((host, zc))
        return zc
    return made, make


def test_a_lan_bind_is_announced_and_unregistered_on_stop():
    made, make = recorder()
    announcer = Announcer(lan_config(), 9950, web_port=9957, make_zeroconf=make, hostname="studio-pc.example")
    assert announcer.start(wait=True)
    [(host, zc)] = made
    assert host == LAN
    (verb, info), = zc.calls
    assert verb == "register" and info.type == SERVICE_TYPE and info.name == "dawgen on studio-pc." + SERVICE_TYPE
    assert info.port == 9950 and info.parsed_addresses() == [LAN] and info.server == "studio-pc.local."
    assert info.properties == {b"version": __version__.encode(), b"token": b"1", b"tcp": b"1", b"web": b"9957"}
    assert TOKEN.encode() not in repr(info).encode() + b"".join(info.properties.values())
    announcer.stop()
    assert [c[0] for c in zc.calls] == ["register", "unregister", "close"] and zc.calls[1][1] is info
    announcer.stop()  # twice: nothing more
    assert len(zc.calls) == 3


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_a_loopback_bind_announces_nothing(host):
    made, make = recorder()
    announcer = Announcer(lan_config(host), 9950, make_zeroconf=make,
                          addresses=lambda h: pytest.fail("addresses looked up"))
    assert not announcer.start(wait=True)
    announcer.stop()
    assert made == []


def test_announce_false_keeps_a_lan_daemon_quiet():
    made, make = recorder()
    assert not Announcer(lan_config(announce=False), 9950, make_zeroconf=make).start(wait=True)
    assert made == []


def test_a_wildcard_bind_announces_the_lan_addresses_not_loopback(monkeypatch):
    monkeypatch.setattr(zeroconf, "get_all_addresses", lambda: ["127.0.0.1", LAN, "192.0.2.11"])
    assert discovery.lan_addresses("0.0.0.0") == [LAN, "192.0.2.11"]
    made, make = recorder()
    Announcer(lan_config("0.0.0.0"), 9950, make_zeroconf=make).start(wait=True)
    assert made[0][1].calls[0][1].parsed_addresses() == [LAN, "192.0.2.11"]


def test_announcing_never_stops_the_daemon(caplog):
    caplog.set_level(logging.WARNING, "dawgen.discovery")
    zc = FakeZeroconf(fail=OSError("no multicast route"))
    announcer = Announcer(lan_config(), 9950, make_zeroconf=lambda host: zc)
    announcer.start(wait=True)
    announcer.stop()
    assert "not announced on the LAN: no multicast route" in caplog.text
    assert zc.calls == [("close",)]  # closed, nothing to unregister


def test_registration_runs_on_its_own_thread_and_stop_waits_for_it():
    made, make = recorder()
    announcer = Announcer(lan_config(), 9950, make_zeroconf=make)
    assert announcer.start()
    announcer.stop()
    assert [c[0] for c in made[0][1].calls] == ["register", "unregister", "close"]


def test_the_drain_unregisters_before_the_daemon_stops_taking_jobs(tmp_path):
    from bridge.serve import Daemon

    config = load(None, {"server.host": "127.0.0.1", "server.port": 0, "server.isolation": "thread",
                         "output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                         "web.enabled": False, "hotfolder.enabled": False})
    made, make = recorder()
    daemon = Daemon(config, make_zeroconf=make)
    daemon.startup(out=io.StringIO())
    try:
        assert daemon.announcer is not None and not daemon.announcer.enabled and made == []  # loopback: quiet
        # the same daemon as if it listened on the LAN (nothing is bound there: the fake records)
        accepting = []
        zc = FakeZeroconf(on_unregister=lambda: accepting.append(daemon.engine._accepting))
        daemon.announcer = Announcer(lan_config(), daemon.osc.port, make_zeroconf=lambda host: zc)
        daemon.announcer.start(wait=True)
    finally:
        assert daemon.shutdown()
    assert [c[0] for c in zc.calls] == ["register", "unregister", "close"]
    assert accepting == [True]  # gone from the LAN's list while the daemon still took jobs, then drained


def recorded(name="studio-pc", port=9950, token="1", web=None, addresses=(LAN,)):
    props = {"version": "1.2.3", "token": token, "tcp": "1", **({"web": str(web)} if web else {})}
    return zeroconf.ServiceInfo(SERVICE_TYPE, f"dawgen on {name}.{SERVICE_TYPE}", port=port, properties=props,
                                server=f"{name}.local.", parsed_addresses=list(addresses))


def test_browse_lists_the_daemons_heard_and_resolved():
    studio, booth = recorded(web=9957), recorded("booth", 9960, token="0", addresses=("192.0.2.20",))
    zc = FakeZeroconf([studio, booth])
    changes = [(booth.name, zeroconf.ServiceStateChange.Added), (studio.name, zeroconf.ServiceStateChange.Added),
               ("dawgen on gone." + SERVICE_TYPE, zeroconf.ServiceStateChange.Added),
               ("dawgen on gone." + SERVICE_TYPE, zeroconf.ServiceStateChange.Removed),
               ("dawgen on mute." + SERVICE_TYPE, zeroconf.ServiceStateChange.Added)]  # never resolves
    browser = FakeBrowser(changes)
    slept = []
    found = browse(2.5, make_zeroconf=lambda: zc, make_browser=browser, sleep=slept.append)
    assert slept == [2.5] and browser.made == [(zc, SERVICE_TYPE)] and browser.cancelled
    assert zc.calls[-1] == ("close",)
    assert [c[2] for c in zc.calls if c[0] == "resolve"] == [booth.name, studio.name, "dawgen on mute." + SERVICE_TYPE]
    assert found == [Found("dawgen on booth", ("192.0.2.20",), 9960, False, "1.2.3", True, 0, "booth.local."),
                     Found("dawgen on studio-pc", (LAN,), 9950, True, "1.2.3", True, 9957, "studio-pc.local.")]


def test_discover_output_formatting():
    found = [found_from_info(recorded("booth", 9960, token="0", addresses=("192.0.2.20",))),
             found_from_info(recorded(web=9957))]
    text = format_found(found)
    assert text.splitlines() == [
        "NAME                 ADDRESS     PORT  TOKEN  WEB   VERSION",
        "dawgen on booth      192.0.2.20  9960  no     -     1.2.3",
        "dawgen on studio-pc  192.0.2.10  9950  yes    9957  1.2.3",
        "",
        "e.g. dawgen send ping --host 192.0.2.20 --port 9960",
    ]
    assert "--token TOKEN" in format_found(found[1:])
    assert format_found([], 3).startswith("no dawgen daemon heard on the LAN in 3 s")
    data = json.loads(discovery.found_json(found))
    assert data[1] == {"name": "dawgen on studio-pc", "addresses": [LAN], "host": LAN, "port": 9950, "token": True,
                       "version": "1.2.3", "tcp": True, "web_port": 9957, "server": "studio-pc.local."}


def test_dawgen_discover_prints_the_table(monkeypatch, capsys):
    from bridge.cli import main

    seen = []
    monkeypatch.setattr(discovery, "browse", lambda seconds: seen.append(seconds) or [found_from_info(recorded())])
    assert main(["discover", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert seen == [1.0] and out.startswith("NAME") and "dawgen on studio-pc  192.0.2.10  9950  yes" in out
    assert main(["discover", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["port"] == 9950


def test_instance_names_fit_one_dns_label():
    name = discovery.instance_name("x" * 100 + ".example.org")
    label = name[: -len("." + SERVICE_TYPE)]
    assert len(label.encode()) == 63 and label.startswith("dawgen on xxx")
    info = service_info(lan_config(), 9950, [LAN], hostname="x" * 100)
    assert info.name == name.replace(".example.org", "")
