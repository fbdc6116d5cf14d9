/**
 * fast-check arbitraries that start from valid inputs and break them: truncation, splices,
 * deep nesting, huge numbers, odd Unicode, type confusion, plus fully random input.
 */
import fc from "fast-check";

/** Deepest nesting generated: past the ~45,000 levels that overflow JSON.stringify (issue 11), yet cheap to parse. */
export const MAX_NEST = 100_000;
/** Deepest nested value built as an object (the generator itself re-serialises these). */
export const MAX_VALUE_NEST = 20_000;

/** Strings that break naive code: NUL, lone surrogates, BOM, bidi overrides, long runs. */
export const oddStrings = [
  "",
  "\u0000",
  "\ud800",
  "\udfff",
  "\ufeff",
  "\u202e",
  "\u2028\u2029",
  "𝄞",
  "e\u0301",
  "\\",
  '"',
  "\r\n",
  "\x1e",
  "::",
  "a::",
  "/",
  "%E0%A4%A",
  "toString",
  "__proto__",
  "constructor",
  "x".repeat(70_000),
];

/** Numbers that break naive code (JSON-representable). */
export const oddNumbers = [0, -0, -1, 1.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, -(2 ** 63)];

/**
 * A nesting depth from a random number: mostly around the documented limit (100), sometimes
 * thousands, 1 in 20 up to MAX_NEST (past where recursion overflows). Deep texts are costly to
 * parse, so they are rare enough for 100,000 cases to run in about a minute.
 */
export function nestDepth(r: number): number {
  const bucket = r % 20;
  if (bucket === 0) return 1 + ((r * 997) % MAX_NEST);
  if (bucket <= 3) return 1 + ((r * 31) % 5000);
  return 1 + ((r * 7) % 300);
}

/** `[[[…]]]` or `{"a":{"a":…}}` `n` levels deep. */
export function nest(n: number, kind: "array" | "object"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = kind === "array" ? [v] : { a: v };
  return v;
}

/** The text of `n` levels of nesting (also for unbalanced splices). */
export function nestText(n: number, kind: "array" | "object", closed = true): string {
  const open = kind === "array" ? "[".repeat(n) : '{"a":'.repeat(n);
  if (!closed) return open;
  return open + "1" + (kind === "array" ? "]" : "}").repeat(n);
}

/** A value meant to confuse: odd strings and numbers, objects posing as primitives, deep values, random JSON. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, ...oddNumbers, ...oddStrings) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>({ toString: 1 }, { valueOf: {} }, { toString: { toString: 1 } }, { toJSON: 1 }, { __proto__: null }, JSON.parse('{"__proto__":{"x":1}}'), [{ toString: 1 }]) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom("array" as const, "object" as const)).map(([r, k]) => nest(Math.min(nestDepth(r), MAX_VALUE_NEST), k)) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 8 }), { maxLength: 1200 }) },
);

/** Keys that collide with built-ins or with the protocol's own fields. */
const hostileKey = fc.oneof(fc.constantFrom("toString", "valueOf", "__proto__", "constructor", "hasOwnProperty", "then", "type", "id", "room", "rooms", "event", "data", "args"), fc.string({ maxLength: 6 }));

/** One structural change to a JSON value, as data so that fast-check can shrink it. */
type JsonOp = { kind: "replace" | "add" | "delete" | "wrap" | "unwrap"; at: number; key: string; value: unknown };
const jsonOp: fc.Arbitrary<JsonOp> = fc.record({
  kind: fc.constantFrom("replace", "replace", "add", "delete", "wrap", "unwrap"),
  at: fc.nat(),
  key: hostileKey,
  value: hostileValue,
});

/** Every container in `v` (objects and arrays), depth-first, bounded. */
function containers(v: unknown, out: Array<Record<string, unknown> | unknown[]> = [], depth = 0): Array<Record<string, unknown> | unknown[]> {
  if (typeof v !== "object" || v === null || out.length > 200 || depth > 20) return out;
  out.push(v as Record<string, unknown>);
  for (const x of Object.values(v)) containers(x, out, depth + 1);
  return out;
}

/** A private copy of a generated value (generated values are shared and must not be changed in place). */
function copy(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

function applyJsonOp(root: unknown, op: JsonOp): unknown {
  if (op.kind === "wrap") return op.at % 2 ? [root] : { [op.key]: root };
  const cs = containers(root);
  if (cs.length === 0) return op.kind === "replace" ? op.value : root;
  const c = cs[op.at % cs.length]!;
  const keys = Object.keys(c);
  const k = Array.isArray(c) ? (keys.length ? Number(keys[op.at % keys.length]) : 0) : keys.length && op.kind !== "add" ? keys[op.at % keys.length]! : op.key;
  if (op.kind === "delete") {
    if (Array.isArray(c)) c.splice(k as number, 1);
    else delete c[k as string];
  } else if (op.kind === "unwrap") {
    // Own properties only: c["__proto__"] would hand Object.prototype itself to the next op.
    const inner = Object.hasOwn(c, k) ? (c as Record<string, unknown>)[k as never] : undefined;
    if (typeof inner === "object" && inner !== null) return inner;
  } else if (Array.isArray(c)) c[k as number] = copy(op.value);
  // An own data property, as JSON.parse makes for "__proto__": never a prototype change.
  else Object.defineProperty(c, k, { value: copy(op.value), writable: true, enumerable: true, configurable: true });
  return root;
}

/** A valid JSON value from `seeds`, changed by 0–4 operations (deep copies: seeds stay intact). */
export function mutatedJson(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(jsonOp, { maxLength: 4 })).map(([s, ops]) => ops.reduce(applyJsonOp, structuredClone(s))) },
    { weight: 1, arbitrary: hostileValue },
  );
}

/** One change to a text. */
type TextOp = { kind: "truncate" | "insert" | "delete" | "dup" | "nest" | "huge" | "flip"; at: number; len: number; s: string };
const textOp: fc.Arbitrary<TextOp> = fc.record({
  kind: fc.constantFrom("truncate", "insert", "insert", "delete", "dup", "nest", "huge", "flip"),
  at: fc.nat(),
  len: fc.nat({ max: 64 }),
  s: fc.oneof(fc.constantFrom(...oddStrings.slice(0, -1), "[", "]", "{", "}", ",", ":", "null", "1e999", "-", "\\u", '\\ud800"'), fc.string({ unit: "binary", maxLength: 8 })),
});

function applyTextOp(t: string, op: TextOp): string {
  const at = t.length ? op.at % (t.length + 1) : 0;
  switch (op.kind) {
    case "truncate":
      return t.slice(0, at);
    case "insert":
      return t.slice(0, at) + op.s + t.slice(at);
    case "delete":
      return t.slice(0, at) + t.slice(at + op.len);
    case "dup":
      return t.slice(0, at + op.len) + t.slice(at, at + op.len) + t.slice(at);
    case "nest":
      // Unbalanced or balanced deep nesting spliced in.
      return t.slice(0, at) + nestText(nestDepth(op.at), op.len % 2 ? "array" : "object", op.len % 3 !== 0) + t.slice(at);
    case "huge":
      return t.slice(0, at) + "9".repeat(300 + op.len * 50) + t.slice(at);
    case "flip": {
      const c = t.charCodeAt(at) ^ (1 << op.len % 16);
      return t.slice(0, at) + String.fromCharCode(c) + t.slice(at + 1);
    }
  }
}

/** A valid text from `seeds`, changed by 0–4 operations; or the seeds' JSON mutated and re-encoded; or random. */
export function mutatedText(seeds: readonly string[], jsonSeeds?: readonly unknown[]): fc.Arbitrary<string> {
  const arbs: Array<fc.WeightedArbitrary<string>> = [
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(textOp, { maxLength: 4 })).map(([s, ops]) => ops.reduce(applyTextOp, s)) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  ];
  if (jsonSeeds?.length) arbs.push({ weight: 4, arbitrary: mutatedJson(jsonSeeds).map((v) => JSON.stringify(v) ?? "undefined") });
  return fc.oneof(...arbs);
}

/** One change to bytes. */
type ByteOp = { kind: "truncate" | "insert" | "delete" | "set" | "dup" | "ff"; at: number; bytes: Uint8Array };
const byteOp: fc.Arbitrary<ByteOp> = fc.record({
  kind: fc.constantFrom("truncate", "insert", "delete", "set", "set", "dup", "ff"),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
});

function applyByteOp(b: Uint8Array, op: ByteOp): Uint8Array {
  const at = b.length ? op.at % (b.length + 1) : 0;
  const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
  switch (op.kind) {
    case "truncate":
      return b.slice(0, at);
    case "insert":
      return cat(b.subarray(0, at), op.bytes, b.subarray(at));
    case "delete":
      return cat(b.subarray(0, at), b.subarray(at + op.bytes.length));
    case "set": {
      const c = b.slice();
      if (at < c.length) c[at] = op.bytes[0]!;
      return c;
    }
    case "dup":
      return cat(b.subarray(0, at + op.bytes.length), b.subarray(at, at + op.bytes.length), b.subarray(at));
    case "ff": {
      // Length prefixes turned huge: 0xff… over the next bytes.
      const c = b.slice();
      for (let i = at; i < Math.min(c.length, at + (op.bytes.length % 5) + 1); i++) c[i] = 0xff;
      return c;
    }
  }
}

/** Valid bytes from `seeds`, changed by 1–6 operations; or random bytes. */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(byteOp, { minLength: 1, maxLength: 6 })).map(([s, ops]) => ops.reduce(applyByteOp, s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  );
}
