import type { AuditRecord } from "@a1/siem-core";

const INITIAL_CAPACITY = 64 * 1024;
/** Above this, an emptied buffer is given back and a small one allocated. */
const RETAINED_CAPACITY = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * The lines waiting to be written: their UTF-8 bytes back to back in one
 * buffer, in export order, and the record each line belongs to.
 *
 * Lines are encoded once, when they arrive, straight into the buffer that
 * `write()` takes; knowing where each line ends tells which records a write
 * (also a short one) has delivered, and lets size rotation cut between lines.
 *
 * Layout: `[headStart, start)` is the part of the first pending line already
 * in the file (non-empty only after a short write), `[start, end)` the bytes
 * still to write. `ends[i]` is where the line of `records[i]` ends.
 */
export class LineBuffer {
  #bytes: Buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  #records: AuditRecord[] = [];
  #ends: number[] = [];
  /** Index of the first pending record; records before it are written. */
  #head = 0;
  /** Where the line of the first pending record begins. */
  #headStart = 0;
  #start = 0;
  #end = 0;

  /** Records whose line is not completely written. */
  get count(): number {
    return this.#records.length - this.#head;
  }

  /** The buffer holding the bytes; write `bytes.subarray(start, …)`. */
  get bytes(): Buffer {
    return this.#bytes;
  }

  /** Offset of the first byte not yet written. */
  get start(): number {
    return this.#start;
  }

  /** Offset just past the last pending byte. */
  get end(): number {
    return this.#end;
  }

  /** True when the first pending line is partly in the file already (after a short write). */
  get torn(): boolean {
    return this.#start > this.#headStart;
  }

  /** Where the first pending line ends: a write up to here completes it. */
  get headEnd(): number {
    return this.#ends[this.#head]!;
  }

  /** Appends `line` (one JSON line without its newline) for `record`; returns its size in bytes. */
  append(record: AuditRecord, line: string): number {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8, so this much room
    // always holds the line and its newline: no second pass to measure it.
    const room = line.length * 3 + 1;
    if (this.#bytes.length - this.#end < room) this.#makeRoom(room);
    const start = this.#end;
    const end = start + this.#bytes.write(line, start);
    this.#bytes[end] = NEWLINE;
    this.#end = end + 1;
    this.#records.push(record);
    this.#ends.push(this.#end);
    return this.#end - start;
  }

  /**
   * The end of the longest run of whole pending lines, starting at `start`,
   * that fits in `room` bytes; at least the first line when `atLeastOne`
   * (a line alone may exceed `room`). `start` when nothing fits.
   */
  endWithin(room: number, atLeastOne: boolean): number {
    const limit = this.#start + room;
    let end = this.#start;
    for (let i = this.#head; i < this.#ends.length; i++) {
      const lineEnd = this.#ends[i]!;
      if (lineEnd > limit) break;
      end = lineEnd;
    }
    if (end === this.#start && atLeastOne && this.count > 0) end = this.headEnd;
    return end;
  }

  /**
   * Marks `written` bytes from `start` as in the file and returns how many
   * records that completed.
   */
  consume(written: number): number {
    this.#start += written;
    let completed = 0;
    while (this.#head < this.#ends.length && this.#ends[this.#head]! <= this.#start) {
      this.#headStart = this.#ends[this.#head]!;
      this.#head++;
      completed++;
    }
    if (this.#head === this.#records.length) this.#reset();
    return completed;
  }

  /**
   * Forgets that the first pending line is partly written, so that it is
   * written again whole: for a new file, which does not hold the first part.
   */
  rewindTorn(): void {
    this.#start = this.#headStart;
  }

  /** Removes every pending record and returns them, in export order. */
  takeAll(): AuditRecord[] {
    const records = this.#records.slice(this.#head);
    this.#reset();
    return records;
  }

  #reset(): void {
    // Truncated in place: on the flushEvery-1 path this runs once per record.
    this.#records.length = 0;
    this.#ends.length = 0;
    this.#head = 0;
    this.#headStart = 0;
    this.#start = 0;
    this.#end = 0;
    if (this.#bytes.length > RETAINED_CAPACITY) this.#bytes = Buffer.allocUnsafe(INITIAL_CAPACITY);
  }

  /** Moves the pending lines to the front, growing the buffer if that is not enough. */
  #makeRoom(room: number): void {
    const shift = this.#headStart;
    const live = this.#end - shift;
    let capacity = this.#bytes.length;
    while (capacity - live < room) capacity *= 2;
    if (capacity === this.#bytes.length) {
      this.#bytes.copyWithin(0, shift, this.#end);
    } else {
      const bigger = Buffer.allocUnsafe(capacity);
      this.#bytes.copy(bigger, 0, shift, this.#end);
      this.#bytes = bigger;
    }
    if (shift > 0) {
      this.#records = this.#records.slice(this.#head);
      this.#ends = this.#ends.slice(this.#head).map((end) => end - shift);
      this.#head = 0;
      this.#headStart = 0;
      this.#start -= shift;
      this.#end -= shift;
    }
  }
}
