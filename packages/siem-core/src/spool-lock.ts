import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

/** Locks this process holds: the only way to tell "another exporter here" from "my pid's previous life". */
const held = new Set<string>();

/** A lock file that is empty or unreadable for this long is taken as abandoned mid-write. */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

/**
 * Takes the spool directory's lock file, which holds the owner's pid. A lock
 * whose pid is alive (this process included: two exporters must not share a
 * spool) is a clear error; a lock left by a dead process is taken over.
 *
 * Every step that could race is atomic: the lock is made whole in a file of
 * our own and linked into place (link fails if a lock exists), and a stale
 * lock is first renamed away (only one contender's rename succeeds) and
 * checked again before ours is linked.
 */
export function acquireSpoolLock(lockPath: string): void {
  const path = resolve(lockPath);
  if (held.has(path)) {
    throw new Error(
      `spool directory is in use by another exporter in this process: give each exporter its own spool.dir (lock file ${path})`,
    );
  }
  const mine = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        linkSync(mine, path);
        held.add(path);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const owner = readOwner(path);
      if (owner === "gone") continue;
      if (owner === "unreadable" || isLive(owner)) throw inUse(path, owner);
      // Stale: move it out of the way; if another contender moved it first,
      // or what we moved is a live lock after all, look again.
      const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      const moved = readOwner(aside);
      if (moved !== "gone" && moved !== "unreadable" && isLive(moved)) {
        // A contender's fresh lock: put it back and give way.
        try {
          linkSync(aside, path);
        } catch {
          // Someone holds the path again; either way it is not ours.
        }
        unlinkQuietly(aside);
        throw inUse(path, moved);
      }
      unlinkQuietly(aside);
    }
    throw new Error(`could not take the spool lock ${path}: other processes keep taking it`);
  } finally {
    unlinkQuietly(mine);
  }
}

/** Releases the lock if this process holds it. */
export function releaseSpoolLock(lockPath: string): void {
  const path = resolve(lockPath);
  if (!held.delete(path)) return;
  try {
    if (readOwner(path) === process.pid) unlinkQuietly(path);
  } catch {
    // The directory itself is gone or unreadable: nothing to release.
  }
}

/** The pid in a lock file; "gone" when there is no file, "unreadable" when it is fresh and holds no pid. */
function readOwner(path: string): number | "gone" | "unreadable" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isSafeInteger(pid) && pid > 0) return pid;
  try {
    // An old lock without a pid was abandoned; a fresh one may be mid-write.
    return Date.now() - statSync(path).mtimeMs > UNREADABLE_LOCK_GRACE_MS ? 0 : "unreadable";
  } catch {
    return "gone";
  }
}

/**
 * Whether `pid` holds the lock. This process's own pid counts as dead here:
 * a lock with it that this process does not hold was left by an earlier
 * process that had the same pid (pid 1 in a container).
 */
function isLive(pid: number | "unreadable"): boolean {
  if (pid === "unreadable") return true;
  if (pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function inUse(path: string, owner: number | "unreadable"): Error {
  return new Error(
    owner === "unreadable"
      ? `spool directory is being locked by another process right now (lock file ${path}): give each process its own spool.dir`
      : `spool directory is in use by process ${owner}: give each process its own spool.dir, ` +
          `or delete the lock file ${path} if that process is not an exporter`,
  );
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
