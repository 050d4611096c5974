"""The replay harness matches, answers and keeps cookies like the Rust one
(`extractor-sdk/src/replay.rs`), on the same fixture."""

import pytest

from pitwall_extractor import ExtractError, Step, find, http
from pitwall_extractor.http import FetchError
from pitwall_extractor.replay import Replay, ReplayError, _store_cookie

FIXTURE = r"""[
  {"request": {"method": "GET", "url": "http://tv.demo.invalid/watch"},
   "response": {"status": 200,
                "headers": {"Set-Cookie": ["sid=s1; Path=/; HttpOnly", "other=o; Path=/elsewhere"],
                            "content-type": "text/html"},
                "body": "<meta name=\"csrf-token\" content=\"c1\">"}},
  {"request": {"method": "post", "url": "http://tv.demo.invalid/api",
               "headers": {"X-CSRF-Token": "c1", "Cookie": "sid=s1"}},
   "response": {"status": 200, "body_base64": "eyJvayI6dHJ1ZX0=",
                "final_url": "http://tv.demo.invalid/api?v=2"}},
  {"request": {"method": "GET", "url": "http://tv.demo.invalid/never"},
   "response": {"status": 404}}
]"""


def test_replays_with_cookies_and_required_headers():
    replay = Replay.from_json(FIXTURE)

    def flow():
        page = http.get("http://tv.demo.invalid/watch")
        assert page.header("content-type") == "text/html"
        csrf = find.meta_content(page.text(), "csrf-token")
        return http.post_json("http://tv.demo.invalid/api", [("x-csrf-token", csrf)], {})

    answer = replay.run(flow)
    assert answer.text() == '{"ok":true}'
    assert answer.final_url == "http://tv.demo.invalid/api?v=2"
    assert replay.unused() == ["GET http://tv.demo.invalid/never"]
    sent = replay.requests()
    assert len(sent) == 2
    assert ("cookie", "sid=s1") in sent[1].headers
    assert not any(k == "cookie" for k, _ in sent[0].headers)
    assert sent[1].body == b"{}"


def test_each_run_is_one_call_with_a_fresh_jar():
    replay = Replay.from_json(FIXTURE)
    replay.run(lambda: http.get("http://tv.demo.invalid/watch"))
    with pytest.raises(ExtractError) as e:
        replay.run(lambda: http.post_json("http://tv.demo.invalid/api", [("X-CSRF-Token", "c1")], 1))
    assert e.value.step is Step.REQUEST
    assert "no recorded exchange for POST http://tv.demo.invalid/api" in e.value.detail
    assert "missing cookie: sid=s1" in e.value.detail


def test_unmatched_requests_are_transport_errors():
    replay = Replay.from_json(FIXTURE)
    with pytest.raises(FetchError) as e:
        replay.run(lambda: http.fetch(http.request("GET", "http://tv.demo.invalid/nope")))
    assert (e.value.kind, e.value.value) == ("transport", "no recorded exchange for GET http://tv.demo.invalid/nope")

    def header_differs():
        http.get("http://tv.demo.invalid/watch")
        http.fetch(http.request("POST", "http://tv.demo.invalid/api", [("x-csrf-token", "c2")]))

    with pytest.raises(FetchError) as e:
        replay.run(header_differs)
    assert e.value.value.endswith('(x-csrf-token is "c2", recorded "c1")'), e.value.value
    # Outside `run` nothing answers.
    with pytest.raises(FetchError, match="no replay active"):
        http.fetch(http.request("GET", "http://a.example/"))


def test_all_used_replays_the_first_again():
    replay = Replay.from_json(FIXTURE)
    first = replay.run(lambda: http.get("http://tv.demo.invalid/never"))
    again = replay.run(lambda: http.get("http://tv.demo.invalid/never"))
    assert first.status == again.status == 404


def test_bad_fixtures_say_why():
    with pytest.raises(ReplayError, match="not a list"):
        Replay.from_json("{}")
    both = """[{"request": {"method": "GET", "url": "http://a/"},
               "response": {"status": 200, "body": "x", "body_base64": "eA=="}}]"""
    with pytest.raises(ReplayError, match="exchange 0"):
        Replay.from_json(both)
    with pytest.raises(ReplayError, match="unknown field `extra`"):
        Replay.from_json('[{"request": {"method": "GET", "url": "http://a/", "extra": 1}, "response": {"status": 1}}]')
    with pytest.raises(ReplayError, match="does-not-exist.json"):
        Replay.from_file("fixtures/does-not-exist.json")


def test_cookies_respect_path_and_deletion():
    jar = []
    _store_cookie(jar, "a.example", "sid=1; Path=/demo-tv; HttpOnly")
    _store_cookie(jar, "a.example", "sid=2; Path=/demo-tv")
    assert [(c.path, c.value) for c in jar] == [("/demo-tv", "2")]
    _store_cookie(jar, "a.example", "sid=; Path=/demo-tv; Max-Age=0")
    assert jar == []
