/**
 * The order in which yaml.v2 (sorter.go) writes map keys: numbers and booleans first, by value
 * (false as 0, true as 1; on a tie the Go kind decides: bool < int < float64), then a nil key,
 * then strings in "natural" order: letters by code point, a letter after a non-letter, and runs
 * of digits compared as numbers ("a2" before "a10").
 */
import type { YamlKey } from './value.js';

/** Go's reflect.Kind numbers for the kinds a decoded key can have. */
function kind(k: YamlKey): number {
  if (typeof k === 'boolean') return 1;
  if (typeof k === 'number') return Number.isInteger(k) ? 2 : 14;
  if (typeof k === 'bigint') return k > 9223372036854775807n ? 11 : 2;
  if (k === null) return 20; // a nil interface{} stays reflect.Interface
  return 24;
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

function isLetter(c: string): boolean {
  return c.charCodeAt(0) < 0x80 ? /[A-Za-z]/.test(c) : LETTER.test(c);
}

function isDigit(c: string | undefined): boolean {
  if (c === undefined) return false;
  return c.charCodeAt(0) < 0x80 ? c >= '0' && c <= '9' : DIGIT.test(c);
}

/** Go's int64 accumulation of a digit run (wrapping on overflow as Go does). */
function digitRun(r: string[], from: number, start: bigint): { end: number; value: bigint } {
  let v = start;
  let i = from;
  for (; i < r.length && isDigit(r[i]); i++) {
    v = BigInt.asIntN(64, v * 10n + BigInt((r[i] as string).codePointAt(0)! - 48));
  }
  return { end: i, value: v };
}

function stringLess(a: string, b: string): boolean {
  const ar = Array.from(a);
  const br = Array.from(b);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i] as string;
    const cb = br[i] as string;
    if (ca === cb) continue;
    const al = isLetter(ca);
    const bl = isLetter(cb);
    if (al && bl) return ca.codePointAt(0)! < cb.codePointAt(0)!;
    if (al || bl) return bl;
    let start = 0n;
    if (ca === '0' || cb === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          start = 1n;
          break;
        }
      }
    }
    const ra = digitRun(ar, i, start);
    const rb = digitRun(br, i, start);
    if (ra.value !== rb.value) return ra.value < rb.value;
    if (ra.end !== rb.end) return ra.end < rb.end;
    return ca.codePointAt(0)! < cb.codePointAt(0)!;
  }
  return ar.length < br.length;
}

function numeric(k: YamlKey): number | bigint | undefined {
  if (typeof k === 'number' || typeof k === 'bigint') return k;
  if (typeof k === 'boolean') return k ? 1 : 0;
  return undefined;
}

/** yaml.v2's keyList.Less. */
export function keyLess(a: YamlKey, b: YamlKey): boolean {
  const ak = kind(a);
  const bk = kind(b);
  const af = numeric(a);
  const bf = numeric(b);
  if (af !== undefined && bf !== undefined) {
    if (af !== bf) return af < bf;
    if (ak !== bk) return ak < bk;
    return false; // same kind, same value: equal (a bool pair here is false/false or true/true)
  }
  if (typeof a !== 'string' || typeof b !== 'string') return ak < bk;
  return stringLess(a, b);
}

const ASCII_LETTERS_ONLY = /^[A-Za-z_-]*$/;

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** stringLess for strings of ASCII letters, `_` and `-`: a non-letter sorts before a letter. */
function lettersLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const al = isAsciiLetter(ca);
    const bl = isAsciiLetter(cb);
    if (al !== bl) return bl;
    return ca < cb;
  }
  return a.length < b.length;
}

/** Keys in the order yaml.v2 writes them. */
export function sortKeys(keys: Iterable<YamlKey>): YamlKey[] {
  const list = Array.from(keys);
  // Common case: keys of ASCII letters, `_` and `-` only: no digit runs, so a cheaper compare.
  if (list.every((k) => typeof k === 'string' && ASCII_LETTERS_ONLY.test(k))) {
    return (list as string[]).sort((a, b) => (lettersLess(a, b) ? -1 : lettersLess(b, a) ? 1 : 0));
  }
  return list.sort((a, b) => (keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0));
}
