import { lstatSync, renameSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { syncDir } from "./open-append.js";

/**
 * Shifts the rotated files of `path` one place: `path.(maxFiles)` is
 * deleted, `path.(i)` becomes `path.(i+1)`, and `path` becomes `path.1`.
 * A missing file is skipped, so a half-done earlier rotation or a gap left
 * by hand does not stop it.
 *
 * @throws the first rename or unlink error other than ENOENT (EACCES, EXDEV…);
 *   `path` itself is renamed last, so a failure leaves it in place.
 */
export function rotateFiles(path: string, maxFiles: number, syncDirectory: boolean): void {
  ignoreMissing(() => unlinkSync(`${path}.${maxFiles}`));
  for (let index = maxFiles - 1; index >= 1; index--) {
    const from = `${path}.${index}`;
    // A cheap look first: with a large maxFiles most names do not exist, and
    // a thrown ENOENT per name would make each rotation slow.
    if (lstatSync(from, { throwIfNoEntry: false }) === undefined) continue;
    ignoreMissing(() => renameSync(from, `${path}.${index + 1}`));
  }
  ignoreMissing(() => renameSync(path, `${path}.1`));
  if (syncDirectory) syncDir(dirname(path));
}

function ignoreMissing(operation: () => void): void {
  try {
    operation();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
