import pytest
from pythonosc.osc_message import OscMessage

from bridge import protocol as proto
from server.errors import DawgenError
from server.jobs import Job, JobState


def test_key_value_request():
    r = proto.parse("/dawgen/generate", ["r1", "prompt", "punchy kick", "seconds", 1.5, "seed", 42, "reply_port", 9951])
    assert (r.verb, r.req_id, r.reply_port) == ("generate", "r1", 9951)
    assert r.params == {"prompt": "punchy kick", "seconds": 1.5, "seed": 42}


def test_json_request_and_numeric_id_and_nested_verb():
    r = proto.parse("/dawgen/midi/generate", [7, '{"kind": "drums", "bars": 4}'])
    assert (r.verb, r.req_id, r.params) == ("midi/generate", "7", {"kind": "drums", "bars": 4})


def test_positional_job_for_cancel_and_status():
    assert proto.parse("/dawgen/cancel", ["r", "abc"]).params == {"job": "abc"}
    assert proto.parse("/dawgen/status", ["r", "job", "abc"]).params == {"job": "abc"}
    r = proto.parse("/dawgen/status", ["r", "abc", "reply_port", 9000])
    assert (r.params, r.reply_port) == ({"job": "abc"}, 9000)


# req_id: the request id the error names (its reply can say which request it answers); None where
# the packet has no readable id, or is refused before it is read (an address dawgen does not serve)
@pytest.mark.parametrize("address, args, code, req_id", [
    ("/other/thing", ["r"], "unknown_verb", None),
    ("/dawgen/", ["r"], "unknown_verb", None),
    ("/dawgen/generate", [], "bad_request", None),
    ("/dawgen/generate", [b"blob"], "bad_request", None),
    ("/dawgen/generate", ["r", "prompt"], "bad_request", "r"),
    ("/dawgen/generate", ["r", 5, "x"], "bad_request", "r"),
    ("/dawgen/generate", ["r", "prompt", b"blob"], "bad_request", "r"),
    ("/dawgen/generate", ["r", "a", 1, "a", 2], "bad_request", "r"),
    ("/dawgen/generate", ["r", "{not json"], "bad_request", "r"),
    ("/dawgen/generate", ["r", "[1, 2]"], "bad_request", "r"),
    ("/dawgen/generate", ["r", '{"a": [1]}'], "bad_request", "r"),
    ("/dawgen/generate", ["r", "reply_port", 70000], "bad_request", "r"),
])
def test_malformed_requests(address, args, code, req_id):
    with pytest.raises(DawgenError) as info:
        proto.parse(address, args)
    assert info.value.code == code
    assert getattr(info.value, "req_id", None) == req_id


def test_replies_round_trip_through_an_osc_parser():
    job = Job(id="j1", verb="generate", model="synth", params={}, outputs=["/a.wav", "/b.wav"], state=JobState.DONE)
    msg = OscMessage(proto.done(job))
    assert msg.address == "/dawgen/done" and list(msg.params) == ["j1", "/a.wav", "/b.wav"]
    msg = OscMessage(proto.status("r", job, -1))
    assert list(msg.params)[:3] == ["r", "j1", "done"] and list(msg.params)[-2:] == ["/a.wav", "/b.wav"]
    msg = OscMessage(proto.error("r", "bad_request", "nope"))
    assert list(msg.params) == ["r", "bad_request", "nope"]


def test_undocumented_reply_cannot_be_built():
    with pytest.raises(KeyError):
        proto.build("/dawgen/secret", 1)


def test_a_models_catalogue_too_large_for_udp_is_abridged_not_lost():
    import json as _json

    doc = "x" * 400
    models = [{"name": f"m{i}", "backend": "stable-audio",
               "verbs": {"generate": [{"name": f"p{j}", "type": "float", "default": 1.0, "doc": doc}
                                      for j in range(20)]}} for i in range(12)]
    full = proto.models_reply("r1", models, None)
    assert len(full) > proto.UDP_REPLY_MAX
    small = proto.models_reply("r1", models, proto.UDP_REPLY_MAX)
    assert len(small) <= proto.UDP_REPLY_MAX
    parsed = _json.loads(OscMessage(small).params[1])
    assert [m["name"] for m in parsed] == [m["name"] for m in models]
    first = parsed[0]
    assert first["abridged"] == "docs" and first["verbs"]["generate"][0] == {"name": "p0", "type": "float", "default": 1.0}
    tiny = _json.loads(OscMessage(proto.models_reply("r1", models, 8000)).params[1])
    assert tiny[0]["abridged"] == "names" and tiny[0]["verbs"]["generate"][3] == {"name": "p3"}
    assert "abridged" not in _json.loads(OscMessage(full).params[1])[0]


def test_abridging_keeps_the_lora_adapters_whole_then_their_names():
    import json as _json

    lora = {"name": "my-kicks", "base": "m0", "trigger": "kck", "rank": 8, "size": 123456}
    models = [{"name": f"m{i}", "backend": "stable-audio", "loras": [lora],
               "verbs": {"generate": [{"name": f"p{j}", "type": "float", "default": 1.0, "doc": "x" * 400}
                                      for j in range(20)]}} for i in range(12)]
    docs = _json.loads(OscMessage(proto.models_reply("r1", models, proto.UDP_REPLY_MAX)).params[1])
    assert docs[0]["abridged"] == "docs" and docs[0]["loras"] == [lora]
    names = _json.loads(OscMessage(proto.models_reply("r1", models, 8000)).params[1])
    assert names[0]["abridged"] == "names" and names[0]["loras"] == [{"name": "my-kicks"}]
