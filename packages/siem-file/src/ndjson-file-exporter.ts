import { closeSync, fdatasyncSync, fstatSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import {
  type AuditExporter,
  AuditRecord,
  type AuditRecordDict,
  ErrorReporter,
  ExportError,
  type ExporterStats,
} from "@a1/siem-core";
import { LineBuffer } from "./line-buffer.js";
import { type AppendFile, openAppend, stillAtPath } from "./open-append.js";
import {
  type NdjsonFileExporterOptions,
  type ResolvedFileOptions,
  resolveFileOptions,
} from "./options.js";
import { rotateFiles } from "./rotate-files.js";

/** `stats()` of `NdjsonFileExporter`: the contract's counters and the file's own. */
export interface NdjsonFileExporterStats extends ExporterStats {
  /** Failed write or open attempts (the records stay pending and are tried again). */
  readonly writeErrors: number;
  /** Size rotations done (`maxBytes`). */
  readonly rotations: number;
  /** Times the file was opened again: `reopen()` calls, and `path` found moved or deleted. */
  readonly reopens: number;
}

/**
 * Errors after which the same descriptor can work again (space freed, quota
 * raised); after any other the file is opened afresh at the next attempt.
 */
const KEEP_DESCRIPTOR = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EAGAIN", "EINTR"]);
/** fdatasync errors that mean "this kind of file cannot be synced", not "data lost". */
const CANNOT_SYNC = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EROFS"]);
const NEWLINE = Buffer.from("\n");

/**
 * Appends one NDJSON line per audit record to a file that any log shipper
 * (Splunk Universal Forwarder, Filebeat, Fluent Bit, Vector) can follow.
 *
 * Every write is one `write()` of whole lines on a descriptor opened with
 * `O_APPEND`, so lines are never interleaved with those of other exporters
 * or processes appending to the same file. With `flushEvery: 1` (the
 * default) a record's line is in the file when `export()` returns. Works
 * with logrotate (`reopen()`) and can rotate by size itself (`maxBytes`,
 * `maxFiles`). A failed write (disk full, directory gone) keeps the records
 * in memory and tries again; what `flush()` or `close()` cannot write is
 * reported through `onError`, never thrown.
 *
 * @example
 * const exporter = new NdjsonFileExporter("/var/log/a1/audit.ndjson", { onError: console.error });
 * exporter.export(record);
 * process.on("SIGHUP", () => exporter.reopen()); // logrotate's postrotate
 * await exporter.close();
 */
export class NdjsonFileExporter implements AuditExporter {
  /** The absolute path written to. */
  readonly path: string;
  readonly #options: ResolvedFileOptions;
  readonly #reporter: ErrorReporter;
  readonly #lines = new LineBuffer();
  readonly #timer: NodeJS.Timeout;

  #file: AppendFile | undefined;
  /** Bytes in the current file, as far as this exporter knows (for `maxBytes`). */
  #size = 0;
  /** The file ends with part of a line: write a newline before the next line. */
  #needNewline = false;
  /** Written since the last fdatasync. */
  #dirty = false;
  /** The last write or open error while writing fails; undefined while all is well. */
  #lastError: unknown;
  /** While writing fails, `export()` tries again no sooner than this (ms since the epoch). */
  #retryAt = 0;
  #rotateRetryAt = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  #received = 0;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;
  #retries = 0;
  #writeErrors = 0;
  #rotations = 0;
  #reopens = 0;

  /**
   * Opens (or creates, with `mode`) `path` for appending. An error opening it
   * (directory missing, no permission) is not thrown: records are held and
   * the file is tried again at each write, as for any write error.
   *
   * @throws RangeError / TypeError for invalid options.
   */
  constructor(path: string, options: NdjsonFileExporterOptions = {}) {
    if (typeof path !== "string" || path === "") {
      throw new TypeError("NdjsonFileExporter: path must be a non-empty string");
    }
    this.#options = resolveFileOptions(options);
    // Absolute, so that a later process.chdir() does not move the file.
    this.path = resolve(path);
    this.#reporter = new ErrorReporter("NdjsonFileExporter", this.#options.onError, {
      warningCode: "A1_SIEM_FILE",
      dropMessage: (reason, count) =>
        `${count} record(s) dropped: ${
          reason === "overflow"
            ? "the file cannot be written and maxQueueSize records are already waiting"
            : reason === "closed"
              ? "exported after close()"
              : reason
        }`,
    });
    this.#tryOpen();
    this.#timer = setInterval(() => this.#tick(), this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Appends `record`'s line: written before returning with `flushEvery: 1`,
   * else buffered. Never throws for I/O problems; a record that cannot be
   * written stays pending and is tried again.
   *
   * @throws TypeError when `record` is not an `AuditRecord` (a programming error).
   */
  export(record: AuditRecord): void {
    if (!AuditRecord.isInstance(record)) {
      throw new TypeError("export() takes an AuditRecord; use exportDict() for a plain object");
    }
    this.#received++;
    if (this.#closed) {
      this.#dropped++;
      this.#reporter.reportDropSoon("closed", record);
      return;
    }
    const lines = this.#lines;
    if (lines.count >= this.#options.maxQueueSize) {
      this.#dropped++;
      this.#reporter.reportDropSoon("overflow", record);
      return;
    }
    lines.append(record, record.toNdjson());
    if (
      lines.count >= this.#options.flushEvery &&
      (this.#lastError === undefined || Date.now() >= this.#retryAt)
    ) {
      this.#write();
    }
  }

  /**
   * `AuditRecord.fromDict(dict)` then `export()`.
   *
   * @throws AuditRecordError when `dict` is malformed; nothing is written then.
   */
  exportDict(dict: AuditRecordDict): void {
    this.export(AuditRecord.fromDict(dict));
  }

  /**
   * Writes every buffered line (and fdatasyncs with `fsync: true`). Lines
   * that cannot be written are reported through `onError` as failed
   * (`"retries-exhausted"`). Never rejects.
   */
  flush(): Promise<void> {
    if (!this.#closed) this.#settle();
    return Promise.resolve();
  }

  /**
   * Flushes, then closes the file and stops the timer. Records exported
   * afterwards are dropped with reason `"closed"`. Idempotent; never rejects.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      // Closed first: a record exported from inside onError while the last
      // records are settled is dropped as closed, not left pending.
      this.#closed = true;
      clearInterval(this.#timer);
      this.#settle();
      this.#closeFile();
      this.#closing = Promise.resolve();
    }
    return this.#closing;
  }

  /**
   * Closes the file and opens `path` again, creating a new file there: call
   * it after logrotate (or anything else) moved the file away, typically
   * from a SIGHUP handler. Lines exported before the call go to the moved
   * file; later ones to the new file. Never throws; a failure to open is
   * handled like a write error (records held, tried again).
   */
  reopen(): void {
    if (this.#closed) return;
    this.#reopens++;
    if (this.#file !== undefined && this.#lines.count > 0) this.#write();
    this.#closeFile();
    this.#tryOpen();
    if (this.#file !== undefined && this.#lines.count > 0) this.#write();
  }

  /**
   * The contract's counters (`received === delivered + failed + dropped +
   * pending` at every moment) and the file's own: `writeErrors`,
   * `rotations`, `reopens`. A fresh object on every call.
   */
  stats(): NdjsonFileExporterStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      pending: this.#lines.count,
      retries: this.#retries,
      writeErrors: this.#writeErrors,
      rotations: this.#rotations,
      reopens: this.#reopens,
    };
  }

  /**
   * Writes every pending line, as few `write()`s of whole lines as possible
   * (one, without rotation). Returns true when nothing is left; on an error
   * the lines stay pending and the error is remembered.
   */
  #write(): boolean {
    const lines = this.#lines;
    if (lines.count === 0) return true;
    if (this.#lastError !== undefined) this.#retries++;
    const maxBytes = this.#options.maxBytes;
    try {
      if (this.#file === undefined) this.#open();
      if (this.#needNewline) {
        // The file ends with part of a line (a crash, or a line given up
        // on): end it, so that it cannot swallow the next line.
        writeSync(this.#file!.fd, NEWLINE);
        this.#needNewline = false;
        this.#size++;
      }
      while (lines.count > 0) {
        let end = lines.end;
        if (maxBytes !== undefined) end = this.#endBeforeRotation(maxBytes);
        const start = lines.start;
        // One write() of whole lines: with O_APPEND the kernel puts it at
        // the end of the file in one piece, whoever else appends. A short
        // write (the disk filled up during it) leaves the rest of a line
        // pending: the loop writes it at once, so the line is completed
        // before anything of ours follows.
        const written = writeSync(this.#file!.fd, lines.bytes, start, end - start);
        if (written <= 0) throw new Error(`write() to ${this.path} wrote nothing`);
        this.#size += written;
        this.#dirty = true;
        this.#delivered += lines.consume(written);
      }
      this.#lastError = undefined;
      return true;
    } catch (error) {
      this.#writeFailed(error);
      return false;
    }
  }

  /**
   * With `maxBytes`: rotates first when the next line would not fit, and
   * returns where the next write should stop so that the file stays within
   * `maxBytes` (a lone line bigger than that gets a file of its own).
   */
  #endBeforeRotation(maxBytes: number): number {
    const lines = this.#lines;
    // The rest of a line cut short goes where its beginning is.
    if (lines.torn) return lines.headEnd;
    const next = lines.headEnd - lines.start;
    if (this.#size > 0 && this.#size + next > maxBytes && !this.#rotate()) {
      return lines.end; // cannot rotate now: keep every line, rotate later
    }
    return lines.endWithin(maxBytes - this.#size, true);
  }

  /** Shifts path → path.1 → … and opens a new file. False when the renames failed (tried later). */
  #rotate(): boolean {
    if (Date.now() < this.#rotateRetryAt) return false;
    try {
      this.#sync();
      rotateFiles(this.path, this.#options.maxFiles, this.#options.fsync);
    } catch (error) {
      this.#rotateRetryAt = Date.now() + this.#options.flushIntervalMs;
      this.#reporter.warn(
        `could not rotate ${this.path}: ${describeError(error)}; writing on to it and trying again later`,
      );
      return false;
    }
    this.#rotations++;
    this.#closeFile();
    this.#open(); // throws to #write() when the new file cannot be created
    return true;
  }

  #writeFailed(error: unknown): void {
    this.#writeErrors++;
    if (this.#lastError === undefined) {
      this.#reporter.warn(
        `cannot write ${this.path}: ${describeError(error)}; records are held in memory (at most maxQueueSize) and written when it works again`,
      );
    }
    this.#lastError = error;
    this.#retryAt = Date.now() + this.#options.flushIntervalMs;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (this.#file !== undefined && (code === undefined || !KEEP_DESCRIPTOR.has(code))) {
      this.#closeFile(); // opened afresh at the next attempt
    }
  }

  /** The last chance of the records exported so far: write them or report them failed. */
  #settle(): void {
    this.#checkPath();
    if (this.#lines.count > 0 && !this.#write()) this.#failPending();
    this.#sync();
  }

  #failPending(): void {
    const lines = this.#lines;
    // The beginning of the first line is in the file: end it there, so the
    // next line written does not run on from it.
    if (lines.torn && this.#file !== undefined) this.#needNewline = true;
    const records = lines.takeAll();
    this.#failed += records.length;
    this.#reporter.report(
      new ExportError(
        `${records.length} record(s) could not be written to ${this.path}: ${describeError(this.#lastError)}`,
        { reason: "retries-exhausted", retryable: true, records, cause: this.#lastError },
      ),
    );
  }

  #tick(): void {
    if (this.#closed) return;
    this.#checkPath();
    if (this.#lines.count > 0) this.#write();
    this.#sync();
  }

  /**
   * Reopens when `path` no longer names the open file: it was moved
   * (logrotate without a signal) or deleted (with its directory, maybe).
   * Lines written to a deleted file before this check are gone with it.
   */
  #checkPath(): void {
    const file = this.#file;
    if (file === undefined) return;
    let here: boolean;
    try {
      here = stillAtPath(this.path, file);
    } catch {
      return; // cannot tell (no permission on the directory): keep writing
    }
    if (here) return;
    let deleted = false;
    try {
      deleted = fstatSync(file.fd).nlink === 0;
    } catch {}
    if (deleted) {
      this.#reporter.warn(
        `${this.path} was deleted while open; lines written to it since its deletion are lost with it; opening it again`,
      );
    }
    this.#reopens++;
    this.#closeFile();
    this.#tryOpen();
  }

  /** Opens `path`; throws the open error. */
  #open(): void {
    const file = openAppend(this.path, this.#options.mode, this.#options.fsync);
    this.#file = file;
    this.#size = file.size;
    this.#needNewline = file.endsMidLine;
    this.#dirty = false;
  }

  /** Opens `path`; an error is handled like a failed write. */
  #tryOpen(): void {
    try {
      this.#open();
    } catch (error) {
      this.#writeFailed(error);
    }
  }

  /** Closes the current file (fdatasynced first with `fsync: true`). */
  #closeFile(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#sync();
    this.#file = undefined;
    this.#needNewline = false;
    // A new file does not hold the part of a line written before: write the whole line there.
    this.#lines.rewindTorn();
    try {
      closeSync(file.fd);
    } catch (error) {
      this.#reporter.warn(`closing ${this.path} failed: ${describeError(error)}`);
    }
  }

  /** With `fsync: true`, makes what was written durable. */
  #sync(): void {
    if (!this.#options.fsync || !this.#dirty || this.#file === undefined) return;
    try {
      fdatasyncSync(this.#file.fd);
      this.#dirty = false;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== undefined && CANNOT_SYNC.has(code)) {
        this.#dirty = false;
        return;
      }
      this.#reporter.warn(
        `fdatasync of ${this.path} failed: ${describeError(error)}; lines written since the last sync may not be on disk`,
      );
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
