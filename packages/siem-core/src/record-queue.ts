import type { AuditRecord } from "./audit-record.js";

/**
 * A FIFO ring buffer of records with a fixed capacity: push and shift are
 * O(1) and allocate nothing, which keeps `export()` cheap.
 */
export class RecordQueue {
  #slots: (AuditRecord | undefined)[];
  #head = 0;
  #length = 0;

  constructor(capacity: number) {
    // Grows on demand up to `capacity`: a large maxQueueSize costs nothing until used.
    this.#slots = new Array(Math.min(capacity, 1024));
    this.capacity = capacity;
  }

  readonly capacity: number;

  get length(): number {
    return this.#length;
  }

  push(record: AuditRecord): void {
    if (this.#length === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#length) % this.#slots.length] = record;
    this.#length++;
  }

  peek(): AuditRecord | undefined {
    return this.#length === 0 ? undefined : this.#slots[this.#head];
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
    const ordered: (AuditRecord | undefined)[] = new Array(grown);
    for (let i = 0; i < this.#length; i++) ordered[i] = this.#slots[(this.#head + i) % size];
    this.#slots = ordered;
    this.#head = 0;
  }
}
