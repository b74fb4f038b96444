/**
 * The browser builds of Vega, Vega-Lite and vega-embed, read from node_modules so that a report
 * can carry them inline and be viewed without a network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ReportError } from './report-error.js';

/** Package → its UMD build (sets the global `vega`, `vegaLite`, `vegaEmbed`), in load order. */
const BUNDLES = [
  ['vega', 'build/vega.min.js'],
  ['vega-lite', 'build/vega-lite.min.js'],
  ['vega-embed', 'build/vega-embed.min.js'],
] as const;

/** The package's folder: its entry point resolved, then up to the folder whose package.json names it. */
function packageDir(name: string): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch (error) {
    throw new ReportError(`cannot find the npm package ${name} (${(error as Error).message}); run npm install in Kiln's folder`);
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new ReportError(`cannot find the folder of the npm package ${name} above ${entry}; reinstall it`);
}

/**
 * Makes script text safe inside an HTML <script> element: the only sequences that end or
 * confuse one are `</script` and `<!--`, which `<\/` and `<\!--` spell the same in JavaScript
 * string and regex literals (the minified bundles hold neither today).
 */
export function escapeInlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

let cached: string | undefined;

/** `<script>` elements holding the three bundles. About 0.8 MB. */
export function vegaScriptTags(): string {
  cached ??= BUNDLES.map(([name, file]) => {
    const code = readFileSync(path.join(packageDir(name), file), 'utf8');
    return `<script data-package="${name}">${escapeInlineScript(code)}</script>`;
  }).join('\n');
  return cached;
}
