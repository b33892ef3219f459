import { randomBytes } from "node:crypto";

/** A wire-form event as A1's gateway produces it (the Rust `AuditEvent` plus enrichment). */
export type SampleEvent = Record<string, unknown>;

const DENIALS = [
  ["DENIED", "capability not granted by any link of the chain", "capability-scope"],
  ["DENIED", "delegation expired at depth 3", "delegation-expiry"],
  ["DENIED", "executor key not bound to passport namespace", "namespace-binding"],
  ["POLICY_VIOLATION", "notional 2500000 USD exceeds policy limit 1000000 USD", "max-notional"],
  [
    "POLICY_VIOLATION",
    "action outside trading hours (09:30-16:00 America/New_York)",
    "trading-hours",
  ],
] as const;

const AGENTS = ["a1-python/0.9.2", "a1-node/0.4.0", "langgraph-a1/1.2.0", "a1-rust/0.7.1"];
const NAMESPACES = ["trading-agents", "support-bots", "research-assistants"];

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** A UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, variant 10, random rest. */
export function uuidV7(unixMs: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(unixMs, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Makes `count` realistic authorization events over the last hour: about
 * 85 % AUTHORIZED, the rest DENIED or POLICY_VIOLATION with their error
 * messages; a few principals with many agents, delegation depths 1-5.
 */
export function* sampleEvents(count: number, now = Date.now()): Generator<SampleEvent> {
  const principals = Array.from({ length: 8 }, () => hex(32));
  const executors = Array.from({ length: 40 }, () => hex(32));
  for (let i = 0; i < count; i++) {
    const unixMs = now - Math.floor(((count - i) / count) * 3_600_000);
    const roll = Math.random();
    const denial = roll < 0.85 ? undefined : DENIALS[Math.floor(Math.random() * DENIALS.length)]!;
    const event: SampleEvent = {
      event_id: uuidV7(unixMs),
      timestamp_unix: Math.floor(unixMs / 1000),
      outcome: denial ? denial[0] : "AUTHORIZED",
      principal_pk_hex: principals[i % principals.length],
      executor_pk_hex: executors[Math.floor(Math.random() * executors.length)],
      chain_depth: 1 + Math.floor(Math.random() * 5),
      intent_hex: hex(32),
      passport_namespace: NAMESPACES[i % NAMESPACES.length],
      chain_fingerprint: hex(32),
      request_id: `req_${hex(8)}`,
      user_agent: AGENTS[Math.floor(Math.random() * AGENTS.length)],
      source_ip: `203.0.113.${1 + Math.floor(Math.random() * 254)}`,
      trace_id: hex(16),
      span_id: hex(8),
    };
    if (denial) {
      event.error_message = denial[1];
      event.policy_name = denial[2];
    }
    yield event;
  }
}
