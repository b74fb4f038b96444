/** What a command says when a flag named a run folder where a model folder was expected. */
import { resolveModelFolder } from '../train/model-folder.js';

/** `--model runs/x is a run folder: reading its best model, runs/x/best`, or null for a model folder. */
export function runFolderNote(flag: string, dir: string): string | null {
  const resolved = resolveModelFolder(dir);
  return resolved.run ? `${flag} ${dir} is a run folder: reading its best model, ${resolved.dir}` : null;
}

/** Writes the note, if any, to stderr (stdout may be data: --json, predictions). */
export function sayRunFolder(flag: string, dir: string): void {
  const note = runFolderNote(flag, dir);
  if (note !== null) process.stderr.write(`kiln: ${note}\n`);
}
