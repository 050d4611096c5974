#!/usr/bin/env node
// Builds a JavaScript extractor into a pitwall plugin component:
//   pitwall-extractor-build [src/extractor.js] [-o dist/my_site.wasm]
import { build } from '../src/build.js';

const args = process.argv.slice(2);
let entry = 'src/extractor.js';
let out = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-o' || args[i] === '--out') out = args[++i];
  else if (args[i] === '-h' || args[i] === '--help') {
    console.log('usage: pitwall-extractor-build [ENTRY=src/extractor.js] [-o OUT.wasm]');
    process.exit(0);
  } else entry = args[i];
}
if (!out) {
  const { readFileSync } = await import('node:fs');
  const name = JSON.parse(readFileSync('package.json', 'utf8')).name.replace(/^@[^/]+\//, '');
  out = `dist/${name.replaceAll('-', '_')}.wasm`;
}
try {
  await build({ entry, out });
} catch (e) {
  console.error(`pitwall-extractor-build: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
