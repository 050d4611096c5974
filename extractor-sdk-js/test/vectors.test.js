// The shared finder vectors (extractor-sdk/vectors/find.json), run against the JS finders.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { codec, find } from '../src/index.js';

const FINDERS = {
  meta_content: find.metaContent,
  attr_values: find.attrValues,
  m3u8_urls: find.m3u8Urls,
  m3u8_refs: find.m3u8Refs,
  js_string_var: find.jsStringVar,
  fetch_urls: find.fetchUrls,
  atob_strings: find.atobStrings,
  base64_strings: find.base64Strings,
  json_ld: find.jsonLd,
  between: find.between,
  html_unescape: find.htmlUnescape,
  js_unescape: find.jsUnescape,
  base_href: find.baseHref,
  base64_decode_str: codec.base64DecodeStr,
  reverse: codec.reverse,
};

const path = new URL('../../extractor-sdk/vectors/find.json', import.meta.url);
const vectors = JSON.parse(readFileSync(path, 'utf8'));

test('the shared vectors are there', () => {
  assert.ok(vectors.length >= 30, `only ${vectors.length} vectors`);
});

for (const [i, v] of vectors.entries()) {
  test(`#${i} ${v.fn}: ${v.note}`, () => {
    const f = FINDERS[v.fn];
    assert.ok(f, `no JS finder for ${v.fn}: map it in FINDERS`);
    assert.deepEqual(f(...v.args), v.expect);
  });
}
