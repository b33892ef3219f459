import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";

const { O_APPEND, O_CREAT, O_EXCL, O_WRONLY, O_RDONLY } = constants;
const NEWLINE = 0x0a;

/** An open file, as the exporter keeps it. */
export interface AppendFile {
  readonly fd: number;
  /** Its size when opened. */
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  /** True when the file was not empty and did not end with a newline (a line torn by a crash). */
  readonly endsMidLine: boolean;
}

/**
 * Opens `path` for appending, creating it with exactly `mode` if it does not
 * exist. Every write through the descriptor lands at the end of the file,
 * whatever other writers (O_APPEND) did in between.
 *
 * `O_EXCL` tells whether this call created the file: only then is the mode
 * set, with `fchmod`, so that the process's umask cannot narrow it, and an
 * existing file keeps the mode its owner (or logrotate's `create`
 * directive) gave it.
 *
 * @throws the `open` error (ENOENT when the directory does not exist, EACCES, …).
 */
export function openAppend(path: string, mode: number, syncDirectory: boolean): AppendFile {
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, mode);
      try {
        fchmodSync(fd, mode);
      } catch {
        // A file system without permissions (vfat, some network mounts):
        // the file keeps `mode` narrowed by the umask, never a wider one.
      }
      if (syncDirectory) syncDir(dirname(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        fd = openSync(path, O_WRONLY | O_APPEND);
      } catch (again) {
        // Removed between the two opens: create it after all (a few times at most).
        if ((again as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 3) throw again;
      }
    }
  }
  try {
    const stat = fstatSync(fd);
    return {
      fd,
      size: stat.size,
      dev: stat.dev,
      ino: stat.ino,
      endsMidLine: stat.isFile() && stat.size > 0 && endsWithPartLine(path, stat),
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** How long the file must stay the same size before a missing final newline is believed. */
const QUIET_MS = 20;
const QUIET_CHECKS = 2;
const MAX_LOOKS = 10;

/**
 * Whether `path`, the file described by `stat`, ends with part of a line.
 *
 * A file other processes are appending to can look that way for a moment:
 * its size grows page by page during a write, and `stat` does not wait for
 * the write to finish. So a missing newline is only believed when the file
 * then stays the same size for a while (a line torn by a crash); while the
 * file keeps growing, somebody is writing it and nothing needs repairing.
 * Read through a descriptor of its own because the append descriptor is
 * write only; a file this process may not read is taken to end well.
 */
function endsWithPartLine(path: string, stat: { size: number; dev: number; ino: number }): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, O_RDONLY);
    const again = fstatSync(fd);
    if (again.dev !== stat.dev || again.ino !== stat.ino) return false;
    const last = Buffer.alloc(1);
    let size = again.size;
    let quiet = 0;
    for (let look = 0; look < MAX_LOOKS; look++) {
      if (size === 0) return false;
      if (readSync(fd, last, 0, 1, size - 1) !== 1 || last[0] === NEWLINE) return false;
      sleep(QUIET_MS);
      const now = fstatSync(fd).size;
      quiet = now === size ? quiet + 1 : 0;
      if (quiet >= QUIET_CHECKS) return true;
      size = now;
    }
    return false;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Blocks the thread for `ms` (only while opening a file that seems to end mid-line). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * True while `path` still names the open file `file`; false after the file
 * was moved away (logrotate) or deleted, directory and all.
 */
export function stillAtPath(path: string, file: { dev: number; ino: number }): boolean {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat !== undefined && stat.dev === file.dev && stat.ino === file.ino;
}

/** Makes a newly created or renamed directory entry durable (for `fsync: true`). */
export function syncDir(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the file's own data is
    // still synced by the exporter.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
