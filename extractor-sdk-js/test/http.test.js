import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExtractError, Settings, Step, http, isHttpUrl, url } from '../src/index.js';
import { Replay } from '../src/replay.js';

const raw = (status, body) => ({
  status,
  finalUrl: 'http://tv.demo.invalid/api?token=secret',
  headers: [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']],
  body: new TextEncoder().encode(body),
});

test('response helpers', () => {
  const ok = new http.Response(raw(200, '{"a": 1}'));
  assert.equal(ok.text(), '{"a": 1}');
  assert.equal(ok.header('Content-Type'), 'application/json');
  assert.deepEqual(ok.headersNamed('SET-COOKIE'), ['a=1', 'b=2']);
  assert.equal(ok.header('x-missing'), null);
  assert.equal(ok.json(Step.TokenParse).a, 1);
  assert.equal(ok.ensureSuccess(), ok);
  const bad = new http.Response(raw(200, '{"a": '));
  assert.throws(() => bad.json(Step.TokenParse), (e) => {
    assert.ok(e instanceof ExtractError);
    assert.equal(e.step, 'token-parse');
    assert.ok(e.detail.includes('invalid JSON') && !e.detail.includes('secret'), e.detail);
    return true;
  });
});

test('non-2xx names the URL and status, not the token', () => {
  const r = new http.Response(raw(403, '{"error":\n {"code": "csrf_mismatch"}}'));
  assert.throws(() => r.ensureSuccess(), {
    step: 'request',
    detail: 'http://tv.demo.invalid/api?… answered 403: {"error": {"code": "csrf_mismatch"}}',
  });
});

test('settings, URLs and errors behave like the Rust SDK', () => {
  const s = new Settings([['url', '  https://a.example/x.m3u8 '], ['blank', ' ']]);
  assert.equal(s.get('url'), 'https://a.example/x.m3u8');
  assert.equal(s.get('blank'), null);
  assert.throws(() => s.require('page'), { step: 'other', detail: 'missing setting `page`' });
  assert.ok(isHttpUrl('https://cdn.example/live.m3u8'));
  assert.ok(isHttpUrl('http://127.0.0.1:8080/x'));
  for (const bad of ['ftp://cdn.example/x', 'https:///x', 'https://a b', '/relative.m3u8']) assert.ok(!isHttpUrl(bad), bad);
  assert.throws(() => new ExtractError('nope', 'x'), TypeError);
  const base = 'http://tv.demo.invalid/pages/embed/outer?feed=main';
  assert.equal(url.join(base, 'player?feed=main'), 'http://tv.demo.invalid/pages/embed/player?feed=main');
  assert.equal(url.join(base, '//cdn.example/x.m3u8'), 'http://cdn.example/x.m3u8');
  assert.equal(url.join(base, 'javascript:void(0)'), null);
  assert.equal(url.join('/relative/base', 'x'), null);
  assert.equal(url.origin('http://127.0.0.1:8080/demo-tv/watch/main'), 'http://127.0.0.1:8080');
  assert.equal(url.host('https://TV.Demo.Invalid/x'), 'tv.demo.invalid');
  assert.equal(url.redact('http://a.example/m.m3u8?token=secret'), 'http://a.example/m.m3u8?…');
});

const FIXTURE = `[
  {"request": {"method": "GET", "url": "http://tv.demo.invalid/watch"},
   "response": {"status": 200,
                "headers": {"Set-Cookie": ["sid=s1; Path=/; HttpOnly", "other=o; Path=/elsewhere"],
                            "content-type": "text/html"},
                "body": "<meta name=\\"csrf-token\\" content=\\"c1\\">"}},
  {"request": {"method": "post", "url": "http://tv.demo.invalid/api",
               "headers": {"X-CSRF-Token": "c1", "Cookie": "sid=s1"}},
   "response": {"status": 200, "body_base64": "eyJvayI6dHJ1ZX0=",
                "final_url": "http://tv.demo.invalid/api?v=2"}},
  {"request": {"method": "GET", "url": "http://tv.demo.invalid/never"},
   "response": {"status": 404}}
]`;

test('replays with cookies and required headers', async () => {
  const { find } = await import('../src/index.js');
  const replay = Replay.fromJson(FIXTURE);
  const answer = await replay.run(() => {
    const page = http.get('http://tv.demo.invalid/watch');
    assert.equal(page.header('content-type'), 'text/html');
    const csrf = find.metaContent(page.text(), 'csrf-token');
    return http.postJson('http://tv.demo.invalid/api', { 'x-csrf-token': csrf }, {});
  });
  assert.equal(answer.text(), '{"ok":true}');
  assert.equal(answer.finalUrl, 'http://tv.demo.invalid/api?v=2');
  assert.deepEqual(replay.unused(), ['GET http://tv.demo.invalid/never']);
  const sent = replay.requests();
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1].headers.find(([k]) => k === 'cookie'), ['cookie', 'sid=s1']);
  assert.ok(!sent[0].headers.some(([k]) => k === 'cookie'));
  assert.deepEqual(sent[1].headers.find(([k]) => k === 'Content-Type'), ['Content-Type', 'application/json']);
});

test('each run is one call with a fresh jar', async () => {
  const replay = Replay.fromJson(FIXTURE);
  await replay.run(() => http.get('http://tv.demo.invalid/watch'));
  await assert.rejects(
    replay.run(() => http.postJson('http://tv.demo.invalid/api', [['X-CSRF-Token', 'c1']], 1)),
    (e) => {
      assert.equal(e.step, 'request');
      assert.ok(e.detail.includes('no recorded exchange for POST http://tv.demo.invalid/api'), e.detail);
      assert.ok(e.detail.includes('missing cookie: sid=s1'), e.detail);
      return true;
    },
  );
});

test('unmatched requests are transport errors; outside a run nothing answers', async () => {
  const replay = Replay.fromJson(FIXTURE);
  await assert.rejects(
    replay.run(() => http.fetch(http.request('GET', 'http://tv.demo.invalid/nope'))),
    { name: 'FetchError', tag: 'transport', val: 'no recorded exchange for GET http://tv.demo.invalid/nope' },
  );
  await assert.rejects(
    replay.run(() => {
      http.get('http://tv.demo.invalid/watch');
      return http.fetch(http.request('POST', 'http://tv.demo.invalid/api', { 'x-csrf-token': 'c2' }));
    }),
    (e) => e.tag === 'transport' && e.val.endsWith('(x-csrf-token is "c2", recorded "c1")'),
  );
  assert.throws(() => http.fetch(http.request('GET', 'http://a.example/')), (e) => e.val.includes('no replay active'));
});

test('bad fixtures say why', () => {
  assert.throws(() => Replay.fromJson('{}'), /not a list/);
  const both = `[{"request": {"method": "GET", "url": "http://a/"},
                  "response": {"status": 200, "body": "x", "body_base64": "eA=="}}]`;
  assert.throws(() => Replay.fromJson(both), /exchange 0/);
  const unknown = `[{"request": {"method": "GET", "url": "http://a/", "hedaers": {}}, "response": {"status": 200}}]`;
  assert.throws(() => Replay.fromJson(unknown), /unknown field `hedaers`/);
  assert.throws(() => Replay.fromFile('fixtures/does-not-exist.json'), /does-not-exist\.json/);
});

test('form bodies are urlencoded like Rust', async () => {
  const replay = Replay.fromJson(`[{"request": {"method": "POST", "url": "http://a.example/f",
      "headers": {"content-type": "application/x-www-form-urlencoded"}}, "response": {"status": 200}}]`);
  await replay.run(() => http.postForm('http://a.example/f', {}, [['a b', 'c&d=é*~']]));
  assert.equal(new TextDecoder().decode(replay.requests()[0].body), 'a+b=c%26d%3D%C3%A9*%7E');
});

test('the SDK carries the repository WIT, byte for byte', () => {
  const sdk = readFileSync(new URL('../wit/extractor.wit', import.meta.url), 'utf8');
  const repo = readFileSync(new URL('../../wit/extractor.wit', import.meta.url), 'utf8');
  assert.ok(sdk === repo, 'extractor-sdk-js/wit/extractor.wit differs from wit/extractor.wit: copy it over');
});
