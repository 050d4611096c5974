// Replay tests: the whole Demo TV flow against the exchanges recorded from the testbed (copies
// of extractors/demo-site/fixtures), one fixture per outcome, no network. The same cases as the
// Rust extractor's tests/replay.rs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { codec, http } from '@pitwall/extractor-sdk';
import { Replay } from '@pitwall/extractor-sdk/replay';
import demoSite, { csrfToken, feedName, playlistFromAnswer, tokenApiUrl } from '../src/extractor.js';

const WATCH_MAIN = 'http://tv.demo.invalid/demo-tv/watch/main';

async function run(fixture, settings) {
  const replay = Replay.fromFile(`fixtures/${fixture}`);
  try {
    return { replay, found: await replay.extract(demoSite, settings) };
  } catch (error) {
    return { replay, error };
  }
}

async function failsAt(fixture, page) {
  const { replay, error } = await run(fixture, { page });
  assert.deepEqual(replay.unused(), [], 'every recorded step is reached');
  assert.ok(error, 'the flow fails');
  return error;
}

test('main feed with cookie, CSRF and Referer', async () => {
  const { replay, found, error } = await run('watch-main.json', { page: WATCH_MAIN });
  assert.ifError(error);
  assert.deepEqual(replay.unused(), []);
  assert.equal(found.length, 1);
  const [c] = found;
  assert.ok(c.url.startsWith('http://tv.demo.invalid/cdn/main/master.m3u8?token='), c.url);
  assert.equal(c.label, 'Demo TV main');
  assert.equal(c.expiresAt, 1795668337n);
  assert.deepEqual(c.headers[0], ['Referer', WATCH_MAIN]);
  const tokenCall = replay.requests()[1];
  assert.equal(tokenCall.method, 'POST');
  assert.equal(new TextDecoder().decode(tokenCall.body), '{"feed":"main"}');
});

test('pitlane candidate carries Referer and a browser User-Agent', async () => {
  const page = 'http://tv.demo.invalid/demo-tv/watch/pitlane';
  const { replay, found, error } = await run('watch-pitlane.json', { page, label: 'Pit lane' });
  assert.ifError(error);
  assert.deepEqual(replay.unused(), []);
  const [c] = found;
  assert.ok(c.url.startsWith('http://tv.demo.invalid/cdn/pitlane/master.m3u8?token='), c.url);
  assert.equal(c.label, 'Pit lane');
  const header = (name) => c.headers.find(([k]) => k === name)?.[1];
  assert.ok(header('Referer').startsWith('http://tv.demo.invalid/demo-tv/'));
  assert.ok(header('User-Agent').startsWith('Mozilla/5.0'));
});

test('unknown channel fails at request', async () => {
  const e = await failsAt('watch-unknown.json', 'http://tv.demo.invalid/demo-tv/watch/nope');
  assert.equal(e.step, 'request');
  assert.ok(e.detail.includes('/demo-tv/watch/nope answered 404'), e.detail);
});

test('page without CSRF fails at token-parse', async () => {
  const e = await failsAt('fault-no-csrf.json', WATCH_MAIN);
  assert.equal(e.step, 'token-parse');
  assert.ok(e.detail.includes('no CSRF token'), e.detail);
});

test('truncated token answer fails at token-parse', async () => {
  const e = await failsAt('fault-bad-token-json.json', WATCH_MAIN);
  assert.equal(e.step, 'token-parse');
  assert.ok(e.detail.includes('invalid JSON'), e.detail);
});

test('answer without URL fails at url-extraction', async () => {
  const e = await failsAt('fault-no-url.json', WATCH_MAIN);
  assert.equal(e.step, 'url-extraction');
  assert.ok(e.detail.includes('no `player`'), e.detail);
});

test('missing or bad page setting fails before any fetch', async () => {
  const missing = await run('watch-main.json', {});
  assert.equal(missing.error.step, 'other');
  assert.deepEqual(missing.replay.requests(), []);
  const bad = await run('watch-main.json', { page: 'file:///etc/passwd' });
  assert.equal(bad.error.step, 'other');
});

test('a token call without the session cookie would not match', async () => {
  const replay = Replay.fromFile('fixtures/watch-main.json');
  await assert.rejects(
    replay.run(() =>
      http.postJson('http://tv.demo.invalid/demo-tv/api/token', { 'X-CSRF-Token': 'x', Referer: WATCH_MAIN }, { feed: 'main' }),
    ),
    (e) => e.step === 'request' && e.detail.includes('no recorded exchange'),
  );
});

test('reads token, feed and API from a page', () => {
  const html = `<meta name="csrf-token" content="t0k"><video data-channel="pitlane"></video>
      <script>fetch('/demo-tv/api/token', {method: 'POST'})</script>`;
  const page = 'http://tv.demo.invalid/demo-tv/watch/pitlane?x=1';
  assert.equal(csrfToken(html, page), 't0k');
  assert.equal(feedName(html, page), 'pitlane');
  assert.equal(feedName('', page), 'pitlane');
  assert.equal(tokenApiUrl(html, page), 'http://tv.demo.invalid/demo-tv/api/token');
  assert.equal(tokenApiUrl('', page), 'http://tv.demo.invalid/demo-tv/api/token');
  assert.throws(() => csrfToken('<meta name="other" content="x">', page), (e) => e.step === 'token-parse' && !e.detail.includes('x=1'));
});

test('decodes the player snippet', () => {
  const blob = codec.reverse('aHR0cDovL3R2LmRlbW8uaW52YWxpZC9jZG4vbWFpbi9tYXN0ZXIubTN1OD90b2tlbj0xLmE=');
  const { playlist, expiresAt } = playlistFromAnswer({ feed: 'main', expires_at: 42, player: `var _0x4f2a = "${blob}";` });
  assert.equal(playlist, 'http://tv.demo.invalid/cdn/main/master.m3u8?token=1.a');
  assert.equal(expiresAt, 42);
  assert.throws(() => playlistFromAnswer({ expires_at: 42 }), { step: 'url-extraction' });
  assert.throws(() => playlistFromAnswer({ player: 'var _0x4f2a = "!!!";' }), { step: 'url-extraction' });
});

test('declares its hosts', () => {
  const info = demoSite.info();
  assert.equal(info.id, 'demo-site');
  assert.ok(!info.allowedHosts.includes('*'));
  assert.ok(info.allowedHosts.includes('*.demo.invalid'));
});

test('the fixtures are the Rust extractor\'s, byte for byte', () => {
  const rust = new URL('../../../extractors/demo-site/fixtures/', import.meta.url);
  const ours = new URL('../fixtures/', import.meta.url);
  const json = (dir) => readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(json(ours), json(rust));
  for (const file of json(rust)) {
    assert.ok(readFileSync(new URL(file, ours)).equals(readFileSync(new URL(file, rust))), `${file} differs: copy it over`);
  }
});
