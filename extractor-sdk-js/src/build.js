// @ts-check
/**
 * Builds an extractor module into a pitwall plugin component:
 *
 * 1. an entry module imports the host functions (`pitwall:extractor/host@0.1.0`), installs
 *    them for the SDK, and exports `info` and `extract` from the extractor's default export;
 * 2. esbuild bundles it with the extractor and the SDK into one ES module (ComponentizeJS takes
 *    one source);
 * 3. ComponentizeJS (SpiderMonkey + Wizer pre-initialisation) makes it a component of the
 *    `extractor` world in `wit/` (the SDK's copy of the repository's WIT). The engine's `http`
 *    and `fetch-event` features are off: pitwall provides no `wasi:http`, so the component
 *    imports only WASI p2 CLI/IO/clock/random/filesystem interfaces (which the host links)
 *    and `pitwall:extractor/host`. The network is the host's `fetch`, nothing else.
 * @module
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The SDK's copy of `wit/extractor.wit`. */
export const WIT_DIR = resolve(here, '../wit');
/** What the engine must not pull in: see the module docs. */
export const DISABLED_FEATURES = /** @type {const} */ (['http', 'fetch-event']);

/**
 * The entry module for `extractorPath`.
 * @param {string} extractorPath absolute path of a module whose default export is the extractor
 */
export function entrySource(extractorPath) {
  const component = resolve(here, 'component.js');
  return [
    "import { fetch, log, now } from 'pitwall:extractor/host@0.1.0';",
    `import { exportExtractor, setHost } from ${JSON.stringify(component)};`,
    `import extractor from ${JSON.stringify(extractorPath)};`,
    'setHost({ fetch, log, now });',
    'const world = exportExtractor(extractor);',
    'export function info() { return world.info(); }',
    'export function extract(session, settings) { return world.extract(session, settings); }',
    '',
  ].join('\n');
}

/**
 * Bundles and componentizes `entry` into `out`.
 * @param {{entry: string, out: string, quiet?: boolean}} options
 * @returns {Promise<{bytes: number, bundleBytes: number, millis: number}>}
 */
export async function build({ entry, out, quiet = false }) {
  const started = Date.now();
  const { build: bundle } = await import('esbuild');
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const extractorPath = resolve(entry);
  const bundled = await bundle({
    stdin: { contents: entrySource(extractorPath), resolveDir: dirname(extractorPath), sourcefile: 'entry.js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['pitwall:extractor/*'],
    write: false,
    logLevel: 'warning',
  });
  const source = bundled.outputFiles[0].text;
  const { component } = await componentize(source, {
    witPath: WIT_DIR,
    worldName: 'extractor',
    disableFeatures: [...DISABLED_FEATURES],
    sourceName: 'extractor.js',
  });
  await mkdir(dirname(resolve(out)), { recursive: true });
  await writeFile(out, component);
  const result = { bytes: component.length, bundleBytes: source.length, millis: Date.now() - started };
  if (!quiet) {
    const mib = (result.bytes / (1 << 20)).toFixed(1);
    console.log(`built ${out}: ${mib} MiB component (${result.bundleBytes} bytes of JS) in ${result.millis} ms`);
  }
  return result;
}
