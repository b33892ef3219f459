import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { AuditRecord } from "./audit-record.js";
import { decodeFrame, encodeFrame } from "./spool-frame.js";
import { acquireSpoolLock, releaseSpoolLock } from "./spool-lock.js";
import type { ResolvedSpoolOptions } from "./spool-options.js";

/**
 * One segment file. Its records have the sequence numbers
 * `firstSeq … firstSeq + lines - 1`; numbers are contiguous across segments
 * within one life of the spool (file names only keep the files in order).
 */
interface Segment {
  readonly path: string;
  readonly firstSeq: number;
  /** Frames in the file, corrupt ones included (each holds a sequence number). */
  lines: number;
  /** Frames settled: delivered, failed, dropped or corrupt. */
  settled: number;
  /** 1 at `seq - firstSeq` once that frame is settled (for compaction and to count each once). */
  settledFlags: Uint8Array;
  /** Bytes of each frame, so that settling frees exactly its bytes. */
  frameBytes: Uint32Array;
  /** Bytes of whole frames in the file. */
  bytes: number;
}

/** What the spool found in its directory at start. */
export interface SpoolRecovery {
  /** Readable records left by an earlier process, to be delivered first. */
  readonly recovered: number;
  /** Frames skipped: torn tails and failed checksums, with where they were. */
  readonly corrupt: readonly {
    readonly file: string;
    readonly frames: number;
    readonly tornTail: boolean;
  }[];
  /** Files in the directory that are not the spool's, left alone. */
  readonly foreign: readonly string[];
}

/** What `read()` hands back: records in order, and records that could not be read any more. */
export interface SpoolRead {
  readonly records: AuditRecord[];
  readonly seqs: number[];
  /** Records counted as spooled that turned out unreadable (a file cut or changed behind the spool). */
  readonly lost: number;
}

const SEGMENT_PATTERN = /^segment-(\d{16})\.log$/;
const READ_CHUNK_BYTES = 1024 * 1024;
const DEAD_LETTER_FILE = "dead-letter.ndjson";
const LOCK_FILE = "LOCK";

/**
 * A write-ahead log of records in segment files under one directory. Every
 * accepted record is appended (one write) before `export()` returns; the
 * engine reads them back in order as its memory window has room; a segment
 * is deleted once every record in it is settled. See the core README for
 * what each fsync mode guarantees.
 */
export class DiskSpool {
  readonly #options: ResolvedSpoolOptions;
  readonly #segments: Segment[] = [];
  #fd: number | undefined;
  #nextSeq = 0;
  /** Number in the name of the next segment file: above every name in the directory. */
  #nextName = 0;
  /** Bytes of frames not settled yet: what `maxBytes` bounds. */
  #liveBytes = 0;
  /** Bytes of whole frames in the files, settled ones awaiting deletion included. */
  #fileBytes = 0;
  #dirty = false;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onSyncError: ((error: unknown) => void) | undefined;
  /** Read cursor: the next frame not yet handed to the engine. */
  #readSeq = 0;
  #readSegment = 0;
  #readOffset = 0;
  /** What the spool found in its directory when it started. */
  readonly recovery: SpoolRecovery;

  /**
   * @param onSyncError told when the `"interval"` sync fails (a timer has
   *   no caller to throw to).
   */
  constructor(options: ResolvedSpoolOptions, onSyncError?: (error: unknown) => void) {
    this.#options = options;
    this.#onSyncError = onSyncError;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    acquireSpoolLock(join(options.dir, LOCK_FILE));
    try {
      this.recovery = this.#scan();
    } catch (error) {
      releaseSpoolLock(join(options.dir, LOCK_FILE));
      throw error;
    }
    if (options.fsync === "interval") {
      this.#fsyncTimer = setInterval(() => this.sync(), options.fsyncIntervalMs);
      this.#fsyncTimer.unref();
    }
  }

  /** The spool's directory. */
  get dir(): string {
    return this.#options.dir;
  }

  /** Whether records that failed for good go to the dead-letter file. */
  get keepsDeadLetters(): boolean {
    return this.#options.deadLetter;
  }

  /** Records on disk that the engine has not read yet. */
  get unread(): number {
    return this.#nextSeq - this.#readSeq;
  }

  /** Bytes of the spool's files. */
  get bytes(): number {
    return this.#fileBytes;
  }

  /** Sequence number the next appended record gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Sequence number of the next record to read. */
  get readSeq(): number {
    return this.#readSeq;
  }

  /** The frame of `record`, made once so that an append retried after a drop does not serialise again. */
  frame(record: AuditRecord): string {
    return encodeFrame(record);
  }

  /**
   * Appends a frame and returns its sequence number; `"full"` when its
   * records would take more than `maxBytes`. Throws the file system's error
   * (ENOSPC, EIO, a vanished directory): the record is then not spooled.
   */
  append(frame: string): number | "full" {
    const size = Buffer.byteLength(frame);
    if (this.#liveBytes + size > this.#options.maxBytes) return "full";
    let segment = this.#segments.at(-1);
    if (
      segment !== undefined &&
      this.#fd !== undefined &&
      segment.settled === segment.lines &&
      segment.bytes * 4 >= this.#options.segmentBytes
    ) {
      // Everything written to a sizeable segment is settled: start afresh so
      // that its file can go now rather than when it is full.
      segment = undefined;
    }
    if (
      this.#fd === undefined ||
      segment === undefined ||
      segment.bytes + size > this.#options.segmentBytes
    ) {
      segment = this.#startSegment();
    }
    let written = 0;
    try {
      // One write of the string; the rare short write finishes from bytes.
      written = writeSync(this.#fd!, frame);
      if (written < size) {
        const buffer = Buffer.from(frame);
        while (written < size) written += writeSync(this.#fd!, buffer, written);
      }
    } catch (error) {
      if (written > 0) {
        // A partial frame would read back as a torn line in the middle of the
        // segment; move to a fresh segment so that the next frame starts clean.
        this.#closeActive();
      }
      throw error;
    }
    // The frame is in the file: it holds the next number whatever happens now.
    const seq = this.#nextSeq++;
    const index = segment.lines;
    if (index >= segment.frameBytes.length) grow(segment, index + 1);
    segment.frameBytes[index] = size;
    segment.lines++;
    segment.bytes += size;
    this.#fileBytes += size;
    this.#liveBytes += size;
    if (this.#options.fsync !== "always") {
      this.#dirty = true;
      return seq;
    }
    try {
      fdatasyncSync(this.#fd!);
    } catch (error) {
      // Not durable: the caller keeps the record in memory instead, so the
      // frame counts as settled here (and is read past); a fresh segment
      // follows.
      this.#settleOne(segment, seq);
      if (this.#readSeq === seq) this.skipLastAppended();
      this.#closeActive();
      throw error;
    }
    return seq;
  }

  /**
   * The engine keeps the record it just appended in memory: move the read
   * cursor past it without reading it back. Only valid when it is the one
   * unread record.
   */
  skipLastAppended(): void {
    if (this.unread !== 1) return;
    this.#readSegment = this.#segments.length - 1;
    this.#readOffset = this.#segments.at(-1)!.bytes;
    this.#readSeq = this.#nextSeq;
  }

  /** Moves the read cursor to the end: what was unread stays on disk, unsettled, for the next start. */
  skipAllUnread(): void {
    this.#readSegment = Math.max(0, this.#segments.length - 1);
    this.#readOffset = this.#segments.at(-1)?.bytes ?? 0;
    this.#readSeq = this.#nextSeq;
  }

  /**
   * Reads up to `max` records in order, with their sequence numbers. Frames
   * found corrupt at start were settled then and are skipped; a file that
   * was cut or changed since is settled and counted in `lost`.
   */
  read(max: number): SpoolRead {
    const records: AuditRecord[] = [];
    const seqs: number[] = [];
    let lost = 0;
    while (records.length < max && this.#readSeq < this.#nextSeq) {
      const segment = this.#segments[this.#readSegment];
      if (segment === undefined) break;
      if (this.#readSeq >= segment.firstSeq + segment.lines) {
        this.#readSegment++;
        this.#readOffset = 0;
        continue;
      }
      const chunk = this.#readChunk(segment);
      let start = 0;
      for (;;) {
        const end = chunk.indexOf("\n", start);
        if (end === -1 || records.length >= max) break;
        const line = chunk.slice(start, end);
        const seq = this.#readSeq++;
        this.#readOffset += Buffer.byteLength(line) + 1;
        if (segment.settledFlags[seq - segment.firstSeq] === 1) {
          // Settled before it was read (corrupt at start, or given up when
          // its sync failed): nothing to hand over.
          start = end + 1;
          continue;
        }
        const record = decodeFrame(line);
        if (record) {
          records.push(record);
          seqs.push(seq);
        } else if (this.#settleOne(segment, seq)) {
          lost++;
        }
        start = end + 1;
      }
      if (start === 0 && records.length < max) lost += this.abandonSegment();
    }
    return { records, seqs, lost };
  }

  /**
   * Gives up on the rest of the segment under the read cursor (its file is
   * gone, cut, or keeps failing to read): settles its unread records and
   * returns how many of them counted as spooled.
   */
  abandonSegment(): number {
    const segment = this.#segments[this.#readSegment];
    if (segment === undefined) return 0;
    let lost = 0;
    for (let seq = this.#readSeq; seq < segment.firstSeq + segment.lines; seq++) {
      if (this.#settleOne(segment, seq)) lost++;
    }
    this.#readSeq = segment.firstSeq + segment.lines;
    this.#readSegment++;
    this.#readOffset = 0;
    this.#deleteSettled();
    return lost;
  }

  #readChunk(segment: Segment): string {
    const length = Math.min(READ_CHUNK_BYTES, segment.bytes - this.#readOffset);
    const buffer = Buffer.allocUnsafe(Math.max(0, length));
    const fd = openSync(segment.path, "r");
    try {
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buffer, got, length - got, this.#readOffset + got);
        if (n === 0) break;
        got += n;
      }
      const text = buffer.subarray(0, got).toString("utf8");
      // A frame longer than the chunk: read it whole.
      if (!text.includes("\n") && got === READ_CHUNK_BYTES) {
        return readFileSync(segment.path).subarray(this.#readOffset).toString("utf8");
      }
      return text;
    } finally {
      closeSync(fd);
    }
  }

  /** Marks records settled; deletes every segment whose records are all settled and that is not being written. */
  settle(seqs: readonly number[]): void {
    for (const seq of seqs) {
      // A record kept in memory only (the disk failed) has no integer seq.
      if (!Number.isInteger(seq)) continue;
      const segment = this.#segmentOf(seq);
      if (segment !== undefined) this.#settleOne(segment, seq);
    }
    this.#deleteSettled();
  }

  /** Settles one frame; false when it was settled already. */
  #settleOne(segment: Segment, seq: number): boolean {
    const index = seq - segment.firstSeq;
    if (index >= segment.settledFlags.length) grow(segment, index + 1);
    if (segment.settledFlags[index] === 1) return false;
    segment.settledFlags[index] = 1;
    segment.settled++;
    this.#liveBytes -= segment.frameBytes[index] ?? 0;
    return true;
  }

  /** Appends records that failed for good to `dead-letter.ndjson` in the spool directory, one wire line each. */
  deadLetter(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    const fd = openSync(join(this.#options.dir, DEAD_LETTER_FILE), "a", 0o600);
    try {
      writeSync(fd, records.map((record) => `${record.toNdjson()}\n`).join(""));
      if (this.#options.fsync !== "never") fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Makes what was appended durable (the "interval" timer calls this). */
  sync(): void {
    if (!this.#dirty || this.#fd === undefined) return;
    this.#dirty = false;
    try {
      fdatasyncSync(this.#fd);
    } catch (error) {
      // Later writes often still succeed after a failed sync: say so now.
      this.#onSyncError?.(error);
    }
  }

  /** Syncs, closes the active segment and releases the directory. Segments with unsettled records stay for the next start. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#fsyncTimer);
    try {
      this.#closeActive();
      this.#deleteSettled();
      this.#compact();
    } finally {
      releaseSpoolLock(join(this.#options.dir, LOCK_FILE));
    }
  }

  /**
   * Rewrites each segment that is partly settled with its unsettled frames
   * only, so that the next start does not send again what this one
   * delivered. (After a crash there is no such chance: records delivered
   * from a segment that was not complete are sent again — at least once.)
   */
  #compact(): void {
    let renamed = false;
    for (const segment of this.#segments) {
      if (segment.settled === 0 || segment.settled >= segment.lines) continue;
      try {
        const text = readFileSync(segment.path, "utf8");
        let kept = "";
        let index = 0;
        let start = 0;
        for (;;) {
          const end = text.indexOf("\n", start);
          if (end === -1) break;
          if (segment.settledFlags[index] !== 1) kept += text.slice(start, end + 1);
          index++;
          start = end + 1;
        }
        this.#replaceFile(segment.path, kept);
        renamed = true;
      } catch {
        // Left as it is: the next start sends its settled records again.
      }
    }
    if (renamed) this.#syncDirectory();
  }

  /** Writes `content` to a temporary file, makes it durable unless fsync is "never", and renames it over `path`. */
  #replaceFile(path: string, content: string | Uint8Array): void {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, content, { mode: 0o600 });
    if (this.#options.fsync !== "never") {
      const fd = openSync(tmp, "r+");
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  }

  /** A new or renamed file's name is durable only once its directory is synced. */
  #syncDirectory(): void {
    if (this.#options.fsync === "never") return;
    try {
      const fd = openSync(this.#options.dir, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Some file systems refuse to sync a directory; the data itself is synced.
    }
  }

  #segmentOf(seq: number): Segment | undefined {
    let low = 0;
    let high = this.#segments.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const segment = this.#segments[middle]!;
      if (seq < segment.firstSeq) high = middle - 1;
      else if (seq >= segment.firstSeq + segment.lines) low = middle + 1;
      else return segment;
    }
    return undefined;
  }

  #startSegment(): Segment {
    this.#closeActive();
    this.#deleteSettled();
    const path = join(
      this.#options.dir,
      `segment-${String(this.#nextName++).padStart(16, "0")}.log`,
    );
    this.#fd = openSync(path, "a", 0o600);
    this.#syncDirectory();
    const segment: Segment = {
      path,
      firstSeq: this.#nextSeq,
      lines: 0,
      settled: 0,
      settledFlags: new Uint8Array(0),
      frameBytes: new Uint32Array(64),
      bytes: 0,
    };
    this.#segments.push(segment);
    return segment;
  }

  #closeActive(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      if (this.#options.fsync !== "never") fdatasyncSync(fd);
    } catch {
      // Reported by the write that failed.
    }
    closeSync(fd);
  }

  #deleteSettled(): void {
    for (let i = 0; i < this.#segments.length; ) {
      const segment = this.#segments[i]!;
      const active = this.#fd !== undefined && i === this.#segments.length - 1;
      const end = segment.firstSeq + segment.lines;
      if (active || segment.settled < segment.lines || this.#readSeq < end) {
        i++;
        continue;
      }
      try {
        unlinkSync(segment.path);
      } catch {
        // Already gone: nothing to free.
      }
      this.#fileBytes -= segment.bytes;
      this.#segments.splice(i, 1);
      // The cursor was past this segment: either in a later one (whose index
      // shifts down by one) or at this one's end (the next one's start).
      if (this.#readSegment > i) this.#readSegment--;
      else if (this.#readSegment === i) this.#readOffset = 0;
    }
  }

  /**
   * Reads every segment left in the directory: numbers its frames on from
   * the previous segment's, marks corrupt ones settled, cuts torn tails.
   */
  #scan(): SpoolRecovery {
    const corrupt: { file: string; frames: number; tornTail: boolean }[] = [];
    const foreign: string[] = [];
    let recovered = 0;
    let cut = false;
    for (const name of readdirSync(this.#options.dir).sort()) {
      const match = SEGMENT_PATTERN.exec(name);
      if (!match) {
        const ours =
          name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`) || name === DEAD_LETTER_FILE;
        if (SEGMENT_PATTERN.test(name.replace(/\.tmp$/, "")) && name.endsWith(".tmp")) {
          // A compaction or tail cut that a crash interrupted: the original is intact.
          unlinkSync(join(this.#options.dir, name));
        } else if (!ours && !name.endsWith(".tmp")) {
          foreign.push(name);
        }
        continue;
      }
      const path = join(this.#options.dir, name);
      this.#nextName = Math.max(this.#nextName, Number(match[1]) + 1);
      const content = readFileSync(path);
      const lastNewline = content.lastIndexOf(10);
      const whole = content.subarray(0, lastNewline + 1);
      const tornTail = lastNewline + 1 < content.length;
      const segment: Segment = {
        path,
        firstSeq: this.#nextSeq,
        lines: 0,
        settled: 0,
        settledFlags: new Uint8Array(0),
        frameBytes: new Uint32Array(64),
        bytes: whole.length,
      };
      const text = whole.toString("utf8");
      let bad = 0;
      for (let start = 0; ; ) {
        const end = text.indexOf("\n", start);
        if (end === -1) break;
        const line = text.slice(start, end);
        const index = segment.lines++;
        if (index >= segment.frameBytes.length) grow(segment, index + 1);
        segment.frameBytes[index] = Buffer.byteLength(line) + 1;
        this.#liveBytes += segment.frameBytes[index]!;
        if (decodeFrame(line) === undefined) {
          bad++;
          this.#settleOne(segment, this.#nextSeq + index);
        }
        start = end + 1;
      }
      if (bad > 0 || tornTail) corrupt.push({ file: name, frames: bad, tornTail });
      if (segment.lines === 0) {
        // An empty segment (created, then the process died): nothing to keep.
        unlinkSync(path);
        continue;
      }
      if (tornTail) {
        // Cut the torn tail so that the file holds whole frames only.
        this.#replaceFile(path, whole);
        cut = true;
      }
      this.#segments.push(segment);
      this.#fileBytes += segment.bytes;
      recovered += segment.lines - bad;
      this.#nextSeq += segment.lines;
    }
    if (cut) this.#syncDirectory();
    return { recovered, corrupt, foreign };
  }
}

/** Makes room in a segment's per-frame arrays for `size` frames. */
function grow(segment: Segment, size: number): void {
  const capacity = Math.max(size, segment.frameBytes.length * 2, 64);
  if (segment.frameBytes.length < size) {
    const frameBytes = new Uint32Array(capacity);
    frameBytes.set(segment.frameBytes);
    segment.frameBytes = frameBytes;
  }
  if (segment.settledFlags.length < size) {
    const flags = new Uint8Array(capacity);
    flags.set(segment.settledFlags);
    segment.settledFlags = flags;
  }
}
