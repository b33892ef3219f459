import type { AuditRecord } from "./audit-record.js";

/**
 * A FIFO ring buffer of records, each with its sequence number: push and
 * shift are O(1) and allocate nothing, which keeps `export()` cheap.
 */
export class RecordQueue {
  #slots: (AuditRecord | undefined)[];
  #seqs: Float64Array;
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    // Grows on demand up to `capacity`: a large maxQueueSize costs nothing until used.
    const initial = Math.min(capacity, 1024);
    this.#slots = new Array(initial);
    this.#seqs = new Float64Array(initial);
    this.capacity = capacity;
  }

  readonly capacity: number;

  get length(): number {
    return this.#length;
  }

  push(record: AuditRecord, seq: number): void {
    if (this.#length === this.#slots.length) this.#grow();
    const index = (this.#head + this.#length) % this.#slots.length;
    this.#slots[index] = record;
    this.#seqs[index] = seq;
    this.#length++;
  }

  peek(): AuditRecord | undefined {
    return this.#length === 0 ? undefined : this.#slots[this.#head];
  }

  /** Sequence number of the head; Infinity when empty. */
  peekSeq(): number {
    return this.#length === 0 ? Number.POSITIVE_INFINITY : this.#seqs[this.#head]!;
  }

  shift(): AuditRecord | undefined {
    if (this.#length === 0) return undefined;
    const record = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#length--;
    return record;
  }

  #grow(): void {
    const size = this.#slots.length;
    const grown = Math.min(Math.max(size * 2, 16), Math.max(this.capacity, size + 1));
    // Unroll the ring so that the head is at 0, then extend.
    const slots: (AuditRecord | undefined)[] = new Array(grown);
    const seqs = new Float64Array(grown);
    for (let i = 0; i < this.#length; i++) {
      const from = (this.#head + i) % size;
      slots[i] = this.#slots[from];
      seqs[i] = this.#seqs[from]!;
    }
    this.#slots = slots;
    this.#seqs = seqs;
    this.#head = 0;
  }
}
