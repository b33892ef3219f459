#!/usr/bin/env python3
"""Writes packages/siem-core/test/fixtures/golden.json from the Python reference.

The TypeScript AuditRecord must produce the same wire form as the reference's
``AuditRecord.from_dict(d).to_dict()`` / ``.to_ndjson()`` for every input here
(compared as parsed JSON with the same key order; the only allowed departure
is that integer-like keys come first in a JavaScript object).

Usage (stdlib only):
    python3 scripts/make-golden-fixtures.py             # (re)write the fixtures
    python3 scripts/make-golden-fixtures.py --check     # fail if they are stale
    python3 scripts/make-golden-fixtures.py --reference path/to/a1_siem.py

The reference defaults to ../shared/reference/a1_siem.py beside the repository,
or $A1_SIEM_REFERENCE.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "packages" / "siem-core" / "test" / "fixtures" / "golden.json"
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "a1_siem.py"

MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z

OPTIONAL_KEYS = [
    "passport_namespace",
    "chain_fingerprint",
    "error_message",
    "policy_name",
    "capability_mask_hex",
    "request_id",
    "user_agent",
    "source_ip",
]


def load_reference(path: Path):
    spec = importlib.util.spec_from_file_location("a1_siem_reference", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the reference from {path}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def base(**overrides):
    """A complete AUTHORIZED record in wire form, as the gateway emits it."""
    d = {
        "event_id": "0190b7e2-7a3c-7d4e-9f10-4b5c6d7e8f90",
        "timestamp_unix": 1733300000,
        "timestamp_iso": "2024-12-04T08:13:20Z",
        "outcome": "AUTHORIZED",
        "principal_pk_hex": "a1" * 32,
        "executor_pk_hex": "b2" * 32,
        "chain_depth": 2,
        "intent_hex": "c3" * 32,
    }
    d.update(overrides)
    return d


def hand_written_cases():
    """Named inputs, each exercising one rule of the wire form."""
    full_optionals = {
        "passport_namespace": "trading-agents",
        "chain_fingerprint": "d4" * 32,
        "error_message": "capability not granted: transfer",
        "policy_name": "max-notional-10k",
        "capability_mask_hex": "00ff00ff",
        "request_id": "req-42",
        "user_agent": "a1-gateway/1.4.2 (linux; x86_64)",
        "source_ip": "2001:db8::1",
    }
    cases = [
        ("minimal-authorized", base()),
        ("no-timestamp-iso-in-input", {k: v for k, v in base().items() if k != "timestamp_iso"}),
        ("stale-timestamp-iso-is-ignored", base(timestamp_iso="1999-01-01T00:00:00Z")),
        ("all-optionals-set", base(outcome="DENIED", **full_optionals)),
        (
            "optionals-in-reverse-input-order",
            {**dict(reversed(list(full_optionals.items()))), **base(outcome="POLICY_VIOLATION")},
        ),
        ("null-optionals-are-absent", base(**{k: None for k in OPTIONAL_KEYS})),
        (
            "some-null-some-set",
            base(
                outcome="STORAGE_ERROR",
                error_message="sled: io error: No space left on device",
                policy_name=None,
                request_id="r-1",
                source_ip=None,
            ),
        ),
        ("empty-strings-are-kept", base(**{k: "" for k in OPTIONAL_KEYS})),
        ("empty-input-takes-defaults", {}),
        ("only-outcome", {"outcome": "DENIED"}),
        ("only-extras", {"trace_id": "t", "region": "eu-west-1"}),
        ("unknown-outcome-passes-through", base(outcome="REVOKED")),
        ("timestamp-zero", base(timestamp_unix=0)),
        ("timestamp-max", base(timestamp_unix=MAX_TIMESTAMP)),
        ("timestamp-y2038", base(timestamp_unix=2**31)),
        ("timestamp-leap-day", base(timestamp_unix=951782400)),  # 2000-02-29
        ("chain-depth-zero", base(chain_depth=0)),
        ("chain-depth-large", base(chain_depth=2**31 - 1)),
        (
            "rust-audit-event-authorized",
            {
                "event_id": "0190b7e2-7a3c-7d4e-9f10-4b5c6d7e8f91",
                "timestamp_unix": 1733300001,
                "outcome": "AUTHORIZED",
                "principal_pk_hex": "11" * 32,
                "executor_pk_hex": "22" * 32,
                "chain_depth": 3,
                "intent_hex": "33" * 32,
                "passport_namespace": "payments",
                "chain_fingerprint": "44" * 32,
                "error_message": None,
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "span_id": "00f067aa0ba902b7",
                "batch_size": None,
                "batch_outcomes": None,
            },
        ),
        (
            "rust-audit-event-batch",
            {
                "event_id": "0190b7e2-7a3c-7d4e-9f10-4b5c6d7e8f92",
                "timestamp_unix": 1733300002,
                "outcome": "DENIED",
                "principal_pk_hex": "55" * 32,
                "executor_pk_hex": "66" * 32,
                "chain_depth": 5,
                "intent_hex": "77" * 32,
                "passport_namespace": None,
                "chain_fingerprint": None,
                "error_message": "2 of 3 intents denied",
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331",
                "batch_size": 3,
                "batch_outcomes": ["AUTHORIZED", "DENIED", "DENIED"],
            },
        ),
        (
            "rust-audit-event-no-trace",
            {
                "event_id": "e",
                "timestamp_unix": 1,
                "outcome": "POLICY_VIOLATION",
                "principal_pk_hex": "",
                "executor_pk_hex": "",
                "chain_depth": 1,
                "intent_hex": "",
                "trace_id": None,
                "span_id": None,
                "batch_size": 0,
                "batch_outcomes": [],
            },
        ),
        (
            "extras-nested-json",
            base(
                geo={"country": "DE", "city": "Berlin", "coords": [52.52, 13.405]},
                tags=["a", "b", None, True, False, 0, -1, 1.5],
                empty_object={},
                empty_array=[],
                nothing=None,
                deep={"a": {"b": {"c": {"d": [[[]]]}}}},
            ),
        ),
        (
            "extras-numbers",
            base(
                int_big=9007199254740991,
                negative=-42,
                fraction=0.1,
                exponent=1e100,
                tiny=5e-324,
                one_point_oh=1.0,
            ),
        ),
        (
            "extras-with-javascript-special-names",
            base(
                **{
                    "__proto__": "not a prototype",
                    "constructor": "c",
                    "toString": "s",
                    "hasOwnProperty": 1,
                    "toJSON": "not a function",
                    "": "empty key",
                }
            ),
        ),
        ("extras-proto-object", base(**{"__proto__": {"outcome": "AUTHORIZED", "polluted": True}})),
        (
            "extras-before-core-keys-in-input",
            {"zeta": 1, "alpha": 2, **base(), "mid": 3},
        ),
        ("integer-like-extra-keys", base(**{"10": "ten", "2": "two", "x": "x", "01": "not an index"})),
        (
            "unicode-bmp",
            base(
                error_message="Zugriff verweigert: Größe überschritten — ¿por qué? 拒绝访问",
                user_agent="агент/1.0",
                policy_name="ポリシー",
            ),
        ),
        (
            "unicode-astral",
            base(
                error_message="denied 🚫 for agent 🤖 (𝔄𝔩𝔭𝔥𝔞) 𠜎",
                **{"emoji_key_🔑": "🔒", "flag": "🇩🇪"},
            ),
        ),
        (
            "line-separators-and-controls",
            base(
                error_message="line1\nline2\r\nline3\u2028line4\u2029line5\u0085end",
                user_agent="tab\there\u0000nul\u001fus\u007fdel",
                request_id='quote " backslash \\ slash /',
                **{"key\nwith\u2028newline": "v\r"},
            ),
        ),
        ("lone-surrogates", base(error_message="high \ud800 alone, low \udfff alone")),
        ("html-like", base(error_message="</script><!-- & 'x' -->", policy_name="<b>")),
        (
            "long-strings",
            base(error_message="x" * 10000, intent_hex="ab" * 2048, extra_blob="é" * 3000),
        ),
    ]
    return cases


ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/")
    + ["\n", "\r", "\t", "\u0000", "\u001b", '"', "\\", "\u2028", "\u2029", "\u0085", "\ufeff"]
    + ["é", "ß", "ø", "Ω", "中", "文", "한", "ا", "\u0301", "\u200d", "\ufffd"]
    + ["😀", "🚀", "🤖", "𝕏", "𠜎", "🏳️‍🌈"]
)


def random_string(rng: random.Random, max_len: int = 24) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len)))


def random_json(rng: random.Random, depth: int = 0):
    kind = rng.randint(0, 7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if kind == 3:
        return rng.choice([0.5, -2.25, 3.14159, 1e-7, 6.02e23])
    if kind == 4:
        return random_string(rng)
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {"k" + random_string(rng, 8) + str(i): random_json(rng, depth + 1) for i in range(rng.randint(0, 4))}


def random_case(rng: random.Random) -> dict:
    """A wire dict with random strings, optionals present/absent/null and random extras."""
    d: dict = {}
    required = [
        ("event_id", lambda: random_string(rng, 40)),
        ("timestamp_unix", lambda: rng.choice([0, 1, MAX_TIMESTAMP, rng.randint(0, MAX_TIMESTAMP)])),
        ("outcome", lambda: rng.choice(["AUTHORIZED", "DENIED", "POLICY_VIOLATION", "STORAGE_ERROR", random_string(rng)])),
        ("principal_pk_hex", lambda: "%064x" % rng.getrandbits(256)),
        ("executor_pk_hex", lambda: "%064x" % rng.getrandbits(256)),
        ("chain_depth", lambda: rng.randint(0, 6)),
        ("intent_hex", lambda: "%064x" % rng.getrandbits(256)),
    ]
    for key, make in required:
        if rng.random() < 0.9:  # sometimes missing: the reference's defaults apply
            d[key] = make()
    for key in OPTIONAL_KEYS:
        roll = rng.random()
        if roll < 0.4:
            d[key] = random_string(rng)
        elif roll < 0.55:
            d[key] = None
    if rng.random() < 0.3:
        d["timestamp_iso"] = random_string(rng)
    for i in range(rng.randint(0, 5)):
        name = random_string(rng, 10)
        if name in d or name in OPTIONAL_KEYS or name == "timestamp_iso" or name.isdigit():
            name = f"x_{i}_{name}"
        d[name] = random_json(rng)
    # Shuffle the input's key order: the output order must not depend on it.
    items = list(d.items())
    rng.shuffle(items)
    return dict(items)


def divergent_cases(ref):
    """Records the reference builds wrongly: extra overrides a core key. TypeScript must refuse them."""
    out = []
    for name, field, extra in [
        ("extra-overrides-outcome", "extra.outcome", {"outcome": "AUTHORIZED"}),
        ("extra-overrides-timestamp-iso", "extra.timestamp_iso", {"timestamp_iso": "2000-01-01T00:00:00Z"}),
        ("extra-overrides-optional", "extra.error_message", {"error_message": "all good"}),
    ]:
        fields = {
            "event_id": "0190b7e2-7a3c-7d4e-9f10-4b5c6d7e8f93",
            "timestamp_unix": 1733300003,
            "outcome": "DENIED",
            "principal_pk_hex": "a1" * 32,
            "executor_pk_hex": "b2" * 32,
            "chain_depth": 1,
            "intent_hex": "c3" * 32,
            "error_message": "capability not granted",
        }
        record = ref.AuditRecord(**fields, extra=extra)
        out.append(
            {
                "name": name,
                "fields": fields,
                "extra": extra,
                "field": field,
                "reference_dict": record.to_dict(),
            }
        )
    return out


def build(ref) -> dict:
    rng = random.Random(20241204)
    inputs = hand_written_cases() + [(f"random-{i:02d}", random_case(rng)) for i in range(40)]
    cases = []
    for name, d in inputs:
        record = ref.AuditRecord.from_dict(d)
        out = record.to_dict()
        cases.append(
            {
                "name": name,
                "input": d,
                "dict": out,
                # JSON.parse reorders integer-like keys, so keep the reference's order explicitly.
                "dict_keys": list(out.keys()),
                "ndjson": record.to_ndjson(),
            }
        )
    return {
        "generated_by": "scripts/make-golden-fixtures.py",
        "reference": "a1_siem.py (AuditRecord.from_dict(input).to_dict() / .to_ndjson())",
        "python": sys.version.split()[0],
        "cases": cases,
        "divergent": divergent_cases(ref),
    }


def render(data: dict) -> str:
    # ensure_ascii keeps the file ASCII (lone surrogates cannot be written as UTF-8).
    return json.dumps(data, ensure_ascii=True, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=Path(os.environ.get("A1_SIEM_REFERENCE", DEFAULT_REFERENCE)))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the fixtures differ from a fresh run")
    args = parser.parse_args()

    data = build(load_reference(args.reference))
    # The Python version is informative only: leave it out of the staleness check.
    text = render(data)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        strip = lambda s: "\n".join(l for l in s.splitlines() if not l.startswith(' "python":'))
        if strip(current) != strip(text):
            print(f"{args.output} is stale: run python3 scripts/make-golden-fixtures.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(data['cases'])} cases)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(data['cases'])} cases and {len(data['divergent'])} divergent cases to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
