"""Replay tests: the whole Demo TV flow against exchanges recorded from the testbed (copies of
the Rust demo-site's fixtures), one fixture per outcome, no network; and the pure parts."""

import pytest

from demo_site import DemoSite, WitWorld, csrf_token, feed_name, playlist_from_answer, token_api_url
from pitwall_extractor import ExtractError, Settings, Step, codec, http
from pitwall_extractor.replay import Replay, session

WATCH_MAIN = "http://tv.demo.invalid/demo-tv/watch/main"


def run(fixture, **settings):
    replay = Replay.from_file(f"fixtures/{fixture}")
    try:
        return replay, replay.run(lambda: DemoSite().extract(session(), Settings.of(**settings))), None
    except ExtractError as e:
        return replay, None, e


def fails_at(fixture, page):
    replay, found, e = run(fixture, page=page)
    assert replay.unused() == [], f"every recorded step is reached: {replay.unused()}"
    assert found is None and e is not None, "the flow fails"
    return e


def test_main_feed_with_cookie_csrf_and_referer():
    replay, found, e = run("watch-main.json", page=WATCH_MAIN)
    assert e is None, e
    assert replay.unused() == []
    assert len(found) == 1
    c = found[0]
    assert c.url.startswith("http://tv.demo.invalid/cdn/main/master.m3u8?token="), c.url
    assert c.label == "Demo TV main"
    assert c.expires_at == 1795668337
    assert ("Referer", WATCH_MAIN) in c.headers
    token_call = replay.requests()[1]
    assert token_call.method == "POST"
    assert token_call.body == b'{"feed":"main"}'


def test_pitlane_candidate_carries_referer_and_browser_user_agent():
    page = "http://tv.demo.invalid/demo-tv/watch/pitlane"
    replay, found, e = run("watch-pitlane.json", page=page, label="Pit lane")
    assert e is None, e
    assert replay.unused() == []
    c = found[0]
    assert c.url.startswith("http://tv.demo.invalid/cdn/pitlane/master.m3u8?token="), c.url
    assert c.label == "Pit lane"
    headers = dict(c.headers)
    assert headers["Referer"].startswith("http://tv.demo.invalid/demo-tv/")
    assert headers["User-Agent"].startswith("Mozilla/5.0")


def test_unknown_channel_fails_at_request():
    e = fails_at("watch-unknown.json", "http://tv.demo.invalid/demo-tv/watch/nope")
    assert e.step is Step.REQUEST
    assert "/demo-tv/watch/nope answered 404" in e.detail


def test_page_without_csrf_fails_at_token_parse():
    e = fails_at("fault-no-csrf.json", WATCH_MAIN)
    assert e.step is Step.TOKEN_PARSE
    assert "no CSRF token" in e.detail


def test_truncated_token_answer_fails_at_token_parse():
    e = fails_at("fault-bad-token-json.json", WATCH_MAIN)
    assert e.step is Step.TOKEN_PARSE
    assert "invalid JSON" in e.detail


def test_answer_without_url_fails_at_url_extraction():
    e = fails_at("fault-no-url.json", WATCH_MAIN)
    assert e.step is Step.URL_EXTRACTION
    assert "no `player`" in e.detail


def test_missing_or_bad_page_setting_fails_before_any_fetch():
    replay, _, e = run("watch-main.json")
    assert e.step is Step.OTHER
    _, _, bad = run("watch-main.json", page="file:///etc/passwd")
    assert bad.step is Step.OTHER
    assert replay.requests() == []


def test_a_token_call_without_the_session_cookie_would_not_match():
    # Guards the fixture itself: the recorded token call requires the cookie the page set.
    replay = Replay.from_file("fixtures/watch-main.json")
    with pytest.raises(ExtractError) as e:
        replay.run(
            lambda: http.post_json(
                "http://tv.demo.invalid/demo-tv/api/token",
                [("X-CSRF-Token", "x"), ("Referer", WATCH_MAIN)],
                {"feed": "main"},
            )
        )
    assert e.value.step is Step.REQUEST
    assert "no recorded exchange" in e.value.detail


def test_reads_token_feed_and_api_from_a_page():
    html = """<meta name="csrf-token" content="t0k"><video data-channel="pitlane"></video>
        <script>fetch('/demo-tv/api/token', {method: 'POST'})</script>"""
    page = "http://tv.demo.invalid/demo-tv/watch/pitlane?x=1"
    assert csrf_token(html, page) == "t0k"
    assert feed_name(html, page) == "pitlane"
    assert feed_name("", page) == "pitlane"
    assert token_api_url(html, page) == "http://tv.demo.invalid/demo-tv/api/token"
    assert token_api_url("", page) == "http://tv.demo.invalid/demo-tv/api/token"
    with pytest.raises(ExtractError) as e:
        csrf_token('<meta name="other" content="x">', page)
    assert e.value.step is Step.TOKEN_PARSE
    assert "x=1" not in e.value.detail, "query redacted"


def test_decodes_the_player_snippet():
    blob = codec.reverse("aHR0cDovL3R2LmRlbW8uaW52YWxpZC9jZG4vbWFpbi9tYXN0ZXIubTN1OD90b2tlbj0xLmE=")
    answer = {"feed": "main", "expires_at": 42, "player": f'var _0x4f2a = "{blob}";'}
    assert playlist_from_answer(answer) == ("http://tv.demo.invalid/cdn/main/master.m3u8?token=1.a", 42)
    for bad in [{"expires_at": 42}, {"player": 'var _0x4f2a = "!!!";'}]:
        with pytest.raises(ExtractError) as e:
            playlist_from_answer(bad)
        assert e.value.step is Step.URL_EXTRACTION


def test_declares_its_hosts():
    info = WitWorld().info()
    assert info.id == "demo-site"
    assert "*" not in info.allowed_hosts
    assert "*.demo.invalid" in info.allowed_hosts


def test_a_bug_is_an_error_at_step_other_not_a_trap(monkeypatch):
    monkeypatch.setattr("demo_site.feed_name", lambda html, page: {}["boom"])
    replay = Replay.from_file("fixtures/watch-main.json")
    with pytest.raises(ExtractError) as e:
        replay.run(lambda: WitWorld().extract(session(), [("page", WATCH_MAIN)]))
    assert e.value.step is Step.OTHER
    assert e.value.detail.startswith("uncaught KeyError at test_demo_site.py:"), e.value.detail
