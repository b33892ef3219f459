import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { resolve } from "node:path";

/** Locks this process holds: the only way to tell "another exporter here" from "my pid's previous life". */
const held = new Set<string>();

/**
 * Takes the spool directory's lock file, which holds the owner's pid. A lock
 * whose pid is alive (this process included: two exporters must not share a
 * spool) is a clear error; a lock left by a dead process is taken over.
 */
export function acquireSpoolLock(lockPath: string): void {
  const path = resolve(lockPath);
  if (held.has(path)) {
    throw new Error(
      `spool directory is in use by another exporter in this process: give each exporter its own spool.dir (lock file ${path})`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
    // A lock with this process's pid that this process does not hold was left
    // by an earlier process that had the same pid (pid 1 in a container).
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `spool directory is in use by process ${owner}: give each process its own spool.dir, ` +
          `or delete the lock file ${path} if that process is not an exporter`,
      );
    }
    // Stale: its owner is gone. Remove it and try once more.
    unlinkSync(path);
  }
  throw new Error(`could not take the spool lock ${path}: another process keeps taking it`);
}

/** Releases the lock if this process holds it. */
export function releaseSpoolLock(lockPath: string): void {
  const path = resolve(lockPath);
  if (!held.delete(path)) return;
  try {
    if (Number.parseInt(readFileSync(path, "utf8"), 10) === process.pid) unlinkSync(path);
  } catch {
    // Gone already.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
