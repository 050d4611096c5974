"""The SDK's helpers (settings, codec, url, http responses) behave like the Rust SDK's."""

import pytest

from pitwall_extractor import ExtractError, Settings, Step, codec, find, is_http_url, url
from pitwall_extractor.http import Response, _with_content_type, request


def test_settings_lookup_trims_and_requires():
    s = Settings([("url", "  https://a.example/x.m3u8 "), ("blank", " ")])
    assert s.get("url") == "https://a.example/x.m3u8"
    assert s.get("blank") is None
    with pytest.raises(ExtractError) as e:
        s.require("page")
    assert e.value.step is Step.OTHER
    assert "`page`" in e.value.detail


def test_http_urls_only():
    assert is_http_url("https://cdn.example/live.m3u8")
    assert is_http_url("http://127.0.0.1:8080/x")
    for bad in ["ftp://cdn.example/x", "https:///x", "https://a b", "/relative.m3u8", "https://"]:
        assert not is_http_url(bad), bad


def test_base64_in_every_flavour():
    assert codec.base64_decode("aGk/Pg==") == b"hi?>"
    assert codec.base64_decode("aGk/Pg") == b"hi?>"
    assert codec.base64_decode("aGk_Pg==") == b"hi?>"
    assert codec.base64_decode(" aGk_Pg\n") == b"hi?>"
    assert codec.base64_decode("not base64!") is None
    assert codec.base64_decode("") is None
    assert codec.base64_decode("aGk/Pg=") == b"hi?>", "fewer than canonical padding is fine"
    assert codec.base64_decode("aGk==") is None, "more padding than canonical"
    assert codec.base64_decode("aGl") is None, "unused bits of the last symbol set"
    assert codec.base64_decode("a+b-") is None, "mixed alphabets"
    assert codec.base64_decode_str("/w==") is None, "valid base64, not UTF-8"
    assert codec.reverse(codec.reverse("Grand Prix — 🏁")) == "Grand Prix — 🏁"


def test_url_join_origin_host_redact():
    base = "http://tv.demo.invalid/pages/embed/outer?feed=main"
    assert url.join(base, "player?feed=main") == "http://tv.demo.invalid/pages/embed/player?feed=main"
    assert url.join(base, "/cdn/main/master.m3u8") == "http://tv.demo.invalid/cdn/main/master.m3u8"
    assert url.join(base, "//cdn.example/x.m3u8") == "http://cdn.example/x.m3u8"
    assert url.join(base, "javascript:void(0)") is None
    assert url.join("/relative/base", "x") is None
    assert url.origin("http://127.0.0.1:8080/demo-tv/watch/main") == "http://127.0.0.1:8080"
    assert url.origin("https://a.example:443/x") == "https://a.example"
    assert url.host("https://TV.Demo.Invalid/x") == "tv.demo.invalid"
    assert url.redact("http://a.example/m.m3u8?token=secret") == "http://a.example/m.m3u8?…"
    assert url.redact("http://a.example/") == "http://a.example/"


def response(status, body):
    headers = [("content-type", "application/json"), ("set-cookie", "a=1"), ("set-cookie", "b=2")]
    return Response(status, "http://tv.demo.invalid/api?token=secret", headers, body.encode())


def test_response_helpers():
    ok = response(200, '{"a": 1}')
    assert ok.text() == '{"a": 1}'
    assert ok.header("Content-Type") == "application/json"
    assert ok.headers_named("SET-COOKIE") == ["a=1", "b=2"]
    assert ok.header("x-missing") is None
    assert ok.json(Step.TOKEN_PARSE) == {"a": 1}
    assert ok.ensure_success() is ok
    with pytest.raises(ExtractError) as e:
        response(200, '{"a": ').json(Step.TOKEN_PARSE)
    assert e.value.step is Step.TOKEN_PARSE
    assert "invalid JSON" in e.value.detail and "secret" not in e.value.detail


def test_non_2xx_names_url_and_status_not_the_token():
    with pytest.raises(ExtractError) as e:
        response(403, '{"error":\n {"code": "csrf_mismatch"}}').ensure_success()
    assert e.value.step is Step.REQUEST
    assert e.value.detail == 'http://tv.demo.invalid/api?… answered 403: {"error": {"code": "csrf_mismatch"}}'


def test_bodies_get_a_content_type_once():
    r = _with_content_type(request("POST", "http://a.example/"), "application/json")
    assert r.headers == [("Content-Type", "application/json")]
    r = _with_content_type(request("POST", "http://a.example/", [("content-type", "text/plain")]), "x")
    assert len(r.headers) == 1


def test_finders_beyond_the_vectors():
    assert find.is_hls_playlist(b"\xef\xbb\xbf \n#EXTM3U\n")
    assert not find.is_hls_playlist(b"<html>")
    # A named meta without content does not end the search.
    html = '<meta name="csrf-token"><meta name="csrf-token" content="second">'
    assert find.meta_content(html, "csrf-token") == "second"
    assert find.json_strings({"b": "2", "a": ["1", {"c": "3"}]}) == ["1", "3", "2"], "sorted keys"
    assert find.js_unescape(r'a\"b\\c\/d\x41\u0042\u{1F3C1}\n') == 'a"b\\c/dAB🏁\n'
    for bad in ["&#xFFFFFFFFF;", "&#99999999999;", "&#;", "&#x;", "&", "&;", "&#55296;", "é&é"]:
        assert find.html_unescape(bad) == bad


def test_the_sdk_carries_the_repository_wit():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    ours = root / "extractor-sdk-py" / "pitwall_extractor" / "wit" / "extractor.wit"
    assert ours.read_bytes() == (root / "wit" / "extractor.wit").read_bytes(), (
        "copy wit/extractor.wit to extractor-sdk-py/pitwall_extractor/wit/"
    )


def test_build_runs_componentize_py_with_the_sdk_wit_and_no_wasi():
    from pitwall_extractor.__main__ import WIT, componentize_command

    cmd = componentize_command("my_site", "out.wasm", ["src"])
    assert cmd[1:] == ["-q", "-d", str(WIT), "-w", "extractor", "componentize", "--stub-wasi",
                       "-p", "src", "my_site", "-o", "out.wasm"]


def test_the_exported_world_reports_bad_answers_and_bugs_as_errors():
    from pitwall_extractor import Extractor, StreamCandidate, export
    from pitwall_extractor.replay import session

    class Bad(Extractor):
        answer: object = None

        def extract(self, session, settings):
            if settings.get("mode") == "bug":
                return {}["missing"]
            return Bad.answer

    world = export(Bad)()
    for answer, needle in [
        ("x", "must return a list of StreamCandidate, not str"),
        (["x"], "candidate 0 is a str"),
        ([StreamCandidate(url="u", label="l", expires_at=1.5)], "`expires_at` must be Unix seconds"),
        ([StreamCandidate(url="u", label="l", headers=[("a",)])], "(name, value) string pairs"),
    ]:
        Bad.answer = answer
        with pytest.raises(ExtractError) as e:
            world.extract(session(), [])
        assert e.value.step is Step.OTHER and needle in e.value.detail, e.value.detail
    Bad.answer = [StreamCandidate(url="u", label="l", headers=[("Referer", "r")], expires_at=7)]
    assert world.extract(session(), []) == Bad.answer
    with pytest.raises(ExtractError) as e:
        world.extract(session(), [("mode", "bug")])
    assert e.value.detail.startswith("uncaught KeyError at test_sdk.py:"), e.value.detail
    assert e.value.detail.endswith(": 'missing'"), e.value.detail
