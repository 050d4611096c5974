// @ts-check
/**
 * A hostile extractor in JavaScript, built by pitwall's tests (`host/tests/js_guests.rs`): the
 * JS twin of the Rust `abuse` guest, so the host's sandbox is shown to hold for a SpiderMonkey
 * guest too. `settings.mode` picks the abuse: `ok`, `panic` (an uncaught `TypeError`), `loop`
 * (spin), `bomb` (allocate until the memory cap), `sleep` (`setTimeout`, `settings.secs`, default
 * 120: a WASI poll on a clock pollable), `many` (`settings.count` candidates), `logs`
 * (`settings.count` log lines tagged `settings.tag`), `forge` (a log line with a newline and a
 * fake record), `fetch` (GET `settings.url`), `host` (a host it did not declare).
 */

import { Step, defineExtractor, error, http, log } from '@pitwall/extractor-sdk';

/** @param {string} url @param {string} label */
const candidate = (url, label) => ({ url, label, headers: [] });

export default defineExtractor({
  info: () => ({ id: 'abuse-js', name: 'Abuse test (JavaScript)', version: '0.1.0', allowedHosts: ['127.0.0.1', 'localhost'] }),

  extract(session, settings) {
    const number = (/** @type {string} */ key, /** @type {number} */ fallback) => {
      const n = Number(settings.get(key));
      return Number.isFinite(n) && settings.get(key) !== null ? n : fallback;
    };
    switch (settings.get('mode') ?? 'ok') {
      case 'ok':
        return [candidate(`https://cdn.example/${session.id}.m3u8`, 'ok')];
      case 'panic':
        // @ts-expect-error deliberately calling what is not a function
        return null.boom();
      case 'loop':
        for (;;);
      case 'bomb': {
        const hoard = [];
        for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
      }
      case 'sleep':
        return new Promise((resolve) => setTimeout(resolve, number('secs', 120) * 1000)).then(() => {
          throw error(Step.Other, 'woke up after sleeping');
        });
      case 'many':
        return Array.from({ length: number('count', 100000) }, (_, i) => candidate(`https://cdn.example/${i}.m3u8`, 'x'));
      case 'logs': {
        const tag = settings.get('tag') ?? '-';
        for (let i = 0; i < number('count', 1000000); i++) log('info', `abuse flood line ${tag} ${i}`);
        return [candidate('https://cdn.example/logged.m3u8', 'logged')];
      }
      case 'forge':
        log('warn', 'abuse says hi\n2026-01-01 INFO forged record\r\x1b[31m');
        throw error(Step.Other, 'detail with\n2026-01-01 INFO forged detail');
      case 'fetch': {
        const url = settings.require('url');
        const response = http.get(url);
        return [candidate(url, `${response.body.length} bytes, status ${response.status}`)];
      }
      case 'host':
        http.get('https://not-declared.example/');
        throw error(Step.Other, 'fetch to an undeclared host succeeded');
      default:
        throw error(Step.Other, `unknown mode ${JSON.stringify(settings.get('mode'))}`);
    }
  },
});
