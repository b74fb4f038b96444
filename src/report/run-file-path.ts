/**
 * Which file a dashboard URL may serve: only regular files inside one of the given run folders.
 * `..`, absolute paths, encoded separators and symbolic links that lead out of the folder are
 * refused, so the server never exposes anything else on the machine.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export type RunFileResult = { ok: true; file: string } | { ok: false; status: 403 | 404; reason: string };

function inside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * @param runDir the run folder (as given)
 * @param encodedPath the URL path after `/runs/<i>/`, still percent-encoded
 */
export function resolveRunFile(runDir: string, encodedPath: string): RunFileResult {
  let relative: string;
  try {
    relative = decodeURIComponent(encodedPath);
  } catch {
    return { ok: false, status: 403, reason: 'malformed percent-encoding' };
  }
  if (relative.includes('\0') || relative.includes('\\') || path.isAbsolute(relative) || relative.split('/').some((part) => part === '..')) {
    return { ok: false, status: 403, reason: `'${relative}' is outside the run folder` };
  }
  let root: string;
  try {
    root = realpathSync(runDir);
  } catch {
    return { ok: false, status: 404, reason: 'the run folder does not exist' };
  }
  const candidate = path.resolve(root, relative);
  if (!inside(root, candidate)) return { ok: false, status: 403, reason: `'${relative}' is outside the run folder` };
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return { ok: false, status: 404, reason: `no file '${relative}' in the run folder` };
  }
  if (!inside(root, real)) return { ok: false, status: 403, reason: `'${relative}' links outside the run folder` };
  if (!statSync(real).isFile()) return { ok: false, status: 404, reason: `'${relative}' is not a file` };
  return { ok: true, file: real };
}
