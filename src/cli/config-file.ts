/** `--config FILE`: a JSON object of settings, read with errors that name the command and the file. */
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

export function readConfigFile(file: string, command: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`kiln ${command}: cannot read --config ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`kiln ${command}: --config ${file} is not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new UsageError(`kiln ${command}: --config ${file} must hold a JSON object of settings, e.g. {"max-steps": 500}`);
  }
  return json as Record<string, unknown>;
}
