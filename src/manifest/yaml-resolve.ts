/**
 * YAML 1.1 scalar resolution as gopkg.in/yaml.v2 (v2.4.0, the version bosh-cli pins) does it in
 * resolve.go: which plain scalars are booleans, nulls, integers and floats, and which stay
 * strings. The reader uses it to type plain scalars; the writer uses it to decide which strings
 * must be quoted so that they read back as strings.
 *
 * Numbers follow Go's strconv (ParseInt/ParseUint with base 0 after removing every `_`, then
 * ParseFloat for YAML-style floats). JavaScript has one number type, so integers beyond 2^53 lose
 * precision; an integer that overflows uint64 falls through to float, as in yaml.v2.
 */

export const TAG_PREFIX = 'tag:yaml.org,2002:';
export const STR_TAG = `${TAG_PREFIX}str`;
export const BOOL_TAG = `${TAG_PREFIX}bool`;
export const INT_TAG = `${TAG_PREFIX}int`;
export const FLOAT_TAG = `${TAG_PREFIX}float`;
export const NULL_TAG = `${TAG_PREFIX}null`;
export const TIMESTAMP_TAG = `${TAG_PREFIX}timestamp`;
export const BINARY_TAG = `${TAG_PREFIX}binary`;
export const MERGE_TAG = `${TAG_PREFIX}merge`;
export const MAP_TAG = `${TAG_PREFIX}map`;
export const SEQ_TAG = `${TAG_PREFIX}seq`;

export type ScalarValue = null | boolean | number | bigint | string;

/** A scalar typed by resolution: `tag` is the long tag it resolved to. */
export interface Resolved {
  readonly tag: string;
  readonly value: ScalarValue;
}

const WORDS = new Map<string, Resolved>();
function words(tag: string, value: ScalarValue, list: string[]): void {
  for (const w of list) WORDS.set(w, { tag, value });
}
words(BOOL_TAG, true, ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
words(BOOL_TAG, false, ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
words(NULL_TAG, null, ['', '~', 'null', 'Null', 'NULL']);
words(FLOAT_TAG, NaN, ['.nan', '.NaN', '.NAN']);
words(FLOAT_TAG, Infinity, ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']);
words(FLOAT_TAG, -Infinity, ['-.inf', '-.Inf', '-.INF']);

/** Which first characters may start a non-string (yaml.v2's resolveTable hints). */
function hint(s: string): 'M' | '.' | 'D' | 'S' | null {
  if (s === '') return 'M';
  const c = s.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) return 'D';
  if (c === 0x2b || c === 0x2d) return 'S';
  if (c === 0x2e) return '.';
  return 'yYnNtTfFoO~'.includes(s[0] as string) ? 'M' : null;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const DIGITS: Record<number, RegExp> = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ };

/** Go's strconv.ParseUint(s, base, 64) for base 0 or 2 (no underscores: yaml.v2 removed them). */
function goParseUint(s: string, base: 0 | 2): bigint | undefined {
  if (s === '') return undefined;
  let b = base === 0 ? 10 : 2;
  let digits = s;
  if (base === 0 && s[0] === '0') {
    const p = s.length >= 3 ? (s[1] as string).toLowerCase() : '';
    if (p === 'b') [b, digits] = [2, s.slice(2)];
    else if (p === 'o') [b, digits] = [8, s.slice(2)];
    else if (p === 'x') [b, digits] = [16, s.slice(2)];
    else [b, digits] = [8, s.slice(1)];
    if (digits === '') return 0n;
  }
  if (!(DIGITS[b] as RegExp).test(digits)) return undefined;
  const prefix = b === 2 ? '0b' : b === 8 ? '0o' : b === 16 ? '0x' : '';
  const n = BigInt(prefix + digits);
  return n > UINT64_MAX ? undefined : n;
}

/** Go's strconv.ParseInt(s, base, 64). */
function goParseInt(s: string, base: 0 | 2): bigint | undefined {
  let neg = false;
  let rest = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    rest = s.slice(1);
  }
  const u = goParseUint(rest, base);
  if (u === undefined) return undefined;
  const n = neg ? -u : u;
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Go's strconv.ParseFloat for what reaches it here; an overflow (±Inf with ErrRange) is a failure. */
function goParseFloat(s: string): number | undefined {
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

const DOT_FLOAT = /^\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?$/;

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const TS_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const TS_ZONED = /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const TS_SPACED = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?$/;

/** yaml.v2's parseTimestamp: Go's time.Parse with its four layouts, ranges checked as Go does. */
export function isTimestamp(s: string): boolean {
  if (!/^\d{4}-/.test(s)) return false;
  const m = TS_DATE.exec(s) ?? TS_ZONED.exec(s) ?? TS_SPACED.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return false;
  if (m[4] === undefined) return true;
  return Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6]) <= 59;
}

function intResult(n: bigint): Resolved {
  const asNumber = Number(n);
  return { tag: INT_TAG, value: Number.isSafeInteger(asNumber) ? asNumber : n };
}

/** How yaml.v2 reads an untagged plain scalar. */
export function resolvePlain(s: string): Resolved {
  const h = hint(s);
  if (h === null) return { tag: STR_TAG, value: s };
  const word = WORDS.get(s);
  if (word) return word;
  if (h === '.') {
    if (DOT_FLOAT.test(s)) {
      const f = goParseFloat(s.replaceAll('_', ''));
      if (f !== undefined) return { tag: FLOAT_TAG, value: f };
    }
  } else if (h === 'D' || h === 'S') {
    if (isTimestamp(s)) return { tag: TIMESTAMP_TAG, value: s };
    const plain = s.replaceAll('_', '');
    const i = goParseInt(plain, 0);
    if (i !== undefined) return intResult(i);
    const u = goParseUint(plain, 0);
    if (u !== undefined) return intResult(u);
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = goParseFloat(plain);
      if (f !== undefined) return { tag: FLOAT_TAG, value: f };
    }
    if (plain.startsWith('0b')) {
      const b = goParseInt(plain.slice(2), 2) ?? goParseUint(plain.slice(2), 2);
      if (b !== undefined) return intResult(b);
    } else if (plain.startsWith('-0b')) {
      const b = goParseInt(`-${plain.slice(3)}`, 2);
      if (b !== undefined) return intResult(b);
    }
  }
  return { tag: STR_TAG, value: s };
}

const RESOLVABLE = new Set([STR_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG, TIMESTAMP_TAG]);

/** "!!int" for a tag under yaml.org's prefix, as yaml.v2's errors print tags. */
export function shortTag(tag: string): string {
  return tag.startsWith(TAG_PREFIX) ? `!!${tag.slice(TAG_PREFIX.length)}` : tag;
}

/**
 * How yaml.v2 reads a scalar carrying an explicit tag (resolve(tag, in) plus the decoder's
 * !!binary step). Throws a plain Error with yaml.v2's message when the value does not fit the tag.
 */
export function resolveTagged(tag: string, s: string): ScalarValue {
  if (tag === BINARY_TAG) return decodeBinary(s);
  if (!RESOLVABLE.has(tag)) return s;
  if (tag === STR_TAG) return s;
  const r = resolvePlain(s);
  if (r.tag === tag) return tag === TIMESTAMP_TAG ? s : r.value;
  if (tag === FLOAT_TAG && r.tag === INT_TAG) return r.value;
  // An !!int or !!float never tries the timestamp layouts; such a value stays a string.
  const rtag = r.tag === TIMESTAMP_TAG ? STR_TAG : r.tag;
  throw new Error(`cannot decode ${shortTag(rtag)} \`${s}\` as a ${shortTag(tag)}`);
}

function decodeBinary(s: string): string {
  const clean = s.replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean)) {
    throw new Error('!!binary value contains invalid base64 data');
  }
  return Buffer.from(clean, 'base64').toString('utf8');
}

const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/**
 * Whether yaml.v2's encoder may print `s` as a plain scalar: only if it reads back as a string
 * (and is not a YAML 1.1 base-60 number such as `1:20`, quoted for other parsers' sake).
 */
export function plainReadsAsString(s: string): boolean {
  return resolvePlain(s).tag === STR_TAG && !BASE60_FLOAT.test(s);
}
