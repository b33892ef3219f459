import {
  closeSync,
  fdatasyncSync,
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

/** One segment file: records with sequence numbers `firstSeq … firstSeq + lines - 1`. */
interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** Frames in the file, corrupt ones included (each holds a sequence number). */
  lines: number;
  /** Frames settled: delivered, failed, dropped or corrupt. */
  settled: number;
  /** Which frames are settled (1 at index seq - firstSeq), so that close() can compact the segment. */
  settledFlags: Uint8Array;
  /** Bytes of whole frames. */
  bytes: number;
  /** Bytes in the file, a torn tail included. */
  fileBytes: number;
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
  #totalBytes = 0;
  #dirty = false;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Read cursor: the next frame not yet handed to the engine. */
  #readSeq = 0;
  #readSegment = 0;
  #readOffset = 0;
  /** What the spool found in its directory when it started. */
  readonly recovery: SpoolRecovery;

  constructor(options: ResolvedSpoolOptions) {
    this.#options = options;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    acquireSpoolLock(join(options.dir, LOCK_FILE));
    try {
      this.recovery = this.#scan();
      this.#readSeq = this.#segments[0]?.firstSeq ?? this.#nextSeq;
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
    const last = this.#segments.at(-1);
    this.#readSegment = Math.max(0, this.#segments.length - 1);
    this.#readOffset = last?.bytes ?? 0;
    this.#readSeq = this.#nextSeq;
  }

  /** Records on disk that the engine has not read yet. */
  get unread(): number {
    return this.#nextSeq - this.#readSeq;
  }

  /** Bytes of frames on disk. */
  get bytes(): number {
    return this.#totalBytes;
  }

  /** Sequence number the next appended record gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Sequence number of the next record to read. */
  get readSeq(): number {
    return this.#readSeq;
  }

  /**
   * Appends `record` and returns its sequence number; `"full"` when it would
   * take the spool over `maxBytes`. Throws the file system's error (ENOSPC,
   * EIO, a vanished directory): the record is then not spooled.
   */
  append(record: AuditRecord): number | "full" {
    const frame = encodeFrame(record);
    const size = Buffer.byteLength(frame);
    if (this.#totalBytes + size > this.#options.maxBytes) return "full";
    let segment = this.#segments.at(-1);
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
        segment.fileBytes += written;
        this.#closeActive();
      }
      throw error;
    }
    segment.lines++;
    segment.bytes += size;
    segment.fileBytes += size;
    this.#totalBytes += size;
    if (this.#options.fsync === "always") fdatasyncSync(this.#fd!);
    else this.#dirty = true;
    return this.#nextSeq++;
  }

  /** Reads up to `max` records in order, with their sequence numbers; corrupt frames are settled and skipped. */
  read(max: number): { records: AuditRecord[]; seqs: number[] } {
    const records: AuditRecord[] = [];
    const seqs: number[] = [];
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
        const record = decodeFrame(chunk.slice(start, end));
        this.#readOffset += Buffer.byteLength(chunk.slice(start, end + 1));
        const seq = this.#readSeq++;
        if (record) {
          records.push(record);
          seqs.push(seq);
        } else {
          this.settle([seq]);
        }
        start = end + 1;
      }
      if (start === 0 && records.length < max) {
        // No whole frame where one must be: the file was cut or overwritten
        // behind the spool's back. Settle the rest of the segment and move on.
        const rest = segment.firstSeq + segment.lines - this.#readSeq;
        this.settle(Array.from({ length: rest }, (_, i) => this.#readSeq + i));
        this.#readSeq += rest;
      }
    }
    return { records, seqs };
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
      if (segment === undefined) continue;
      const index = seq - segment.firstSeq;
      if (index >= segment.settledFlags.length) {
        const grown = new Uint8Array(Math.max(index + 1, segment.settledFlags.length * 2, 64));
        grown.set(segment.settledFlags);
        segment.settledFlags = grown;
      }
      if (segment.settledFlags[index] === 1) continue;
      segment.settledFlags[index] = 1;
      segment.settled++;
    }
    this.#deleteSettled();
  }

  /**
   * For `drop-oldest` when the spool is full: takes the oldest unread
   * records, up to what frees one segment, for the engine to report as
   * dropped and settle.
   */
  takeOldestUnread(): { records: AuditRecord[]; seqs: number[] } {
    const segment = this.#segments[this.#readSegment];
    if (segment === undefined || this.unread === 0) return { records: [], seqs: [] };
    let end = segment.firstSeq + segment.lines;
    // Part of this segment is in memory or in flight, so dropping the rest
    // frees nothing yet: take the next segment too.
    const next = this.#segments[this.#readSegment + 1];
    if (this.#readSeq > segment.firstSeq && next !== undefined) end = next.firstSeq + next.lines;
    return this.read(end - this.#readSeq);
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
    } catch {
      // The next append reports a failing disk; a timer has nobody to tell.
    }
  }

  /** Syncs, closes the active segment and releases the directory. Segments with unsettled records stay for the next start. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#fsyncTimer);
    this.#closeActive();
    this.#deleteSettled();
    this.#compact();
    releaseSpoolLock(join(this.#options.dir, LOCK_FILE));
  }

  /**
   * Rewrites each segment that is partly settled with its unsettled frames
   * only, so that the next start does not send again what this one
   * delivered. (After a crash there is no such chance: records delivered
   * from a segment that was not complete are sent again — at least once.)
   */
  #compact(): void {
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
        const tmp = `${segment.path}.tmp`;
        writeFileSync(tmp, kept, { mode: 0o600 });
        if (this.#options.fsync !== "never") {
          const fd = openSync(tmp, "r+");
          fdatasyncSync(fd);
          closeSync(fd);
        }
        renameSync(tmp, segment.path);
      } catch {
        // Left as it is: the next start sends its settled records again.
      }
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
    const path = join(this.#options.dir, `segment-${String(this.#nextSeq).padStart(16, "0")}.log`);
    this.#fd = openSync(path, "a", 0o600);
    const segment: Segment = {
      firstSeq: this.#nextSeq,
      path,
      lines: 0,
      settled: 0,
      settledFlags: new Uint8Array(0),
      bytes: 0,
      fileBytes: 0,
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
      this.#totalBytes -= segment.bytes;
      this.#segments.splice(i, 1);
      // The cursor was past this segment: either in a later one (whose index
      // shifts down by one) or at this one's end (the next one's start).
      if (this.#readSegment > i) this.#readSegment--;
      else if (this.#readSegment === i) this.#readOffset = 0;
    }
  }

  /** Reads every segment left in the directory: counts whole frames, finds corrupt ones and torn tails. */
  #scan(): SpoolRecovery {
    const corrupt: { file: string; frames: number; tornTail: boolean }[] = [];
    const foreign: string[] = [];
    let recovered = 0;
    const names = readdirSync(this.#options.dir).sort();
    for (const name of names) {
      const match = SEGMENT_PATTERN.exec(name);
      if (!match) {
        if (name !== LOCK_FILE && name !== DEAD_LETTER_FILE && !name.endsWith(".tmp"))
          foreign.push(name);
        continue;
      }
      const path = join(this.#options.dir, name);
      const content = readFileSync(path);
      const firstSeq = Number(match[1]);
      const lastNewline = content.lastIndexOf(10);
      const whole = content.subarray(0, lastNewline + 1);
      const tornTail = lastNewline + 1 < content.length;
      let lines = 0;
      let bad = 0;
      let start = 0;
      const text = whole.toString("utf8");
      for (;;) {
        const end = text.indexOf("\n", start);
        if (end === -1) break;
        lines++;
        if (decodeFrame(text.slice(start, end)) === undefined) bad++;
        start = end + 1;
      }
      if (lines === 0) {
        // An empty segment (created, then the process died): nothing to keep.
        unlinkSync(path);
        if (tornTail) corrupt.push({ file: name, frames: 0, tornTail });
        continue;
      }
      if (tornTail) {
        // Cut the torn tail so that the file holds whole frames only.
        const tmp = `${path}.tmp`;
        writeFileSync(tmp, whole, { mode: 0o600 });
        renameSync(tmp, path);
      }
      if (bad > 0 || tornTail) corrupt.push({ file: name, frames: bad, tornTail });
      // Corrupt frames hold a sequence number each and count as settled at once.
      this.#segments.push({
        firstSeq,
        path,
        lines,
        settled: 0,
        settledFlags: new Uint8Array(0),
        bytes: whole.length,
        fileBytes: whole.length,
      });
      this.#totalBytes += whole.length;
      recovered += lines - bad;
      this.#nextSeq = Math.max(this.#nextSeq, firstSeq + lines);
    }
    return { recovered, corrupt, foreign };
  }
}
