/**
 * A fast reader for the YAML that manifests are made of: block maps and sequences, plain and
 * one-line quoted scalars, literal block scalars, one-line flow collections, anchors, aliases and
 * merge keys. It is several times faster than building the `yaml` package's syntax tree, which
 * matters for `int` and `deploy` on large manifests (cf-deployment.yml is 88 KB).
 *
 * It never decides anything doubtful: on the first construct outside that subset (tags, folded
 * or multi-line scalars, complex keys, tabs, carriage returns, anything malformed) it gives up
 * with UNSUPPORTED and parseYaml reads the text with the full parser instead, which also writes
 * every error message. Where it does answer, it must answer exactly what the full parser would;
 * the tests compare the two on every reference file and on a table of edge cases.
 */
import type { YamlKey, YamlMap, YamlValue } from './value.js';
import { resolvePlain } from './yaml-resolve.js';

export const UNSUPPORTED: unique symbol = Symbol('unsupported');

class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported();
}

/** Characters the fast reader leaves to the full parser wherever they appear. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const AWKWARD = /[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;

/** Reads `text` or answers UNSUPPORTED. */
export function parseFast(text: string): YamlValue | typeof UNSUPPORTED {
  if (AWKWARD.test(text)) return UNSUPPORTED;
  try {
    return new FastReader(text).document();
  } catch (e) {
    if (e instanceof Unsupported) return UNSUPPORTED;
    throw e;
  }
}

/** For diagnostics and tests: the 1-based line where the fast reader gave up, if it did. */
export function fastDeclinedAt(text: string): number | undefined {
  if (AWKWARD.test(text)) return 0;
  const reader = new FastReader(text);
  try {
    reader.document();
    return undefined;
  } catch (e) {
    if (e instanceof Unsupported) return reader.lineNumber();
    throw e;
  }
}

interface Line {
  /** Offset of the first character of the line. */
  readonly start: number;
  /** Offset of the line break (or the text's end). */
  readonly end: number;
  /** Number of leading spaces. */
  readonly indent: number;
  /** Whether the line has nothing but spaces, or spaces and a comment. */
  readonly blank: boolean;
}

class FastReader {
  private readonly lines: Line[] = [];
  /** Index of the line being read. */
  private li = 0;
  private readonly anchors = new Map<string, YamlValue>();
  private expanded = 0;
  /** The number of lines that belong to the first document. */
  private docEnd: number;

  constructor(private readonly text: string) {
    let start = 0;
    const n = text.length;
    while (start <= n) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = n;
      let i = start;
      while (i < end && text.charCodeAt(i) === 32) i++;
      const blank = i === end || text.charCodeAt(i) === 35; // '#'
      this.lines.push({ start, end, indent: i - start, blank });
      if (end === n) break;
      start = end + 1;
    }
    this.docEnd = this.lines.length;
  }

  lineNumber(): number {
    return this.li + 1;
  }

  document(): YamlValue {
    this.skipBlank();
    if (this.li < this.docEnd && this.isMarker(this.lines[this.li] as Line, '---')) {
      const line = this.lines[this.li] as Line;
      if (line.end - line.start > 3 && !this.restIsBlank(line.start + 3, line.end)) unsupported();
      this.li++;
    }
    if (this.text.charCodeAt(0) === 37) unsupported(); // a directive
    for (let j = this.li; j < this.lines.length; j++) {
      const line = this.lines[j] as Line;
      if (line.indent === 0 && (this.isMarker(line, '---') || this.isMarker(line, '...'))) {
        this.docEnd = j;
        break;
      }
    }
    this.skipBlank();
    if (this.li >= this.docEnd) {
      if (this.li < this.lines.length) unsupported(); // a document that is only `...`
      return null;
    }
    const first = this.lines[this.li] as Line;
    const value = this.blockNode(first.indent, first.start + first.indent, -1);
    this.skipBlank();
    if (this.li < this.docEnd) unsupported();
    return value;
  }

  private isMarker(line: Line, marker: string): boolean {
    if (!this.text.startsWith(marker, line.start)) return false;
    const c = this.text.charCodeAt(line.start + 3);
    return line.start + 3 >= line.end || c === 32;
  }

  private restIsBlank(from: number, end: number): boolean {
    let i = from;
    while (i < end && this.text.charCodeAt(i) === 32) i++;
    return i === end || (i > from && this.text.charCodeAt(i) === 35);
  }

  private skipBlank(): void {
    while (this.li < this.docEnd && (this.lines[this.li] as Line).blank) this.li++;
  }

  /** The next non-blank line of the document, without consuming it. */
  private peek(): Line | undefined {
    this.skipBlank();
    return this.li < this.docEnd ? this.lines[this.li] : undefined;
  }

  /**
   * A node starting at offset `at` of the current line, whose block content sits at column
   * `indent`; `parent` is the indentation of the enclosing block (lines deeper than it would
   * continue a scalar).
   */
  private blockNode(indent: number, at: number, parent: number): YamlValue {
    const line = this.lines[this.li] as Line;
    const c = this.text.charCodeAt(at);
    if (c === 45 /* - */ && this.isBlankOrEnd(at + 1, line.end)) return this.blockSequence(at - line.start, at);
    if (this.keyEnd(at, line.end) >= 0) return this.blockMapping(at - line.start, at);
    return this.inlineValue(at, line.end, parent);
  }

  private isBlankOrEnd(i: number, end: number): boolean {
    return i >= end || this.text.charCodeAt(i) === 32;
  }

  /** A block sequence at column `indent`; its first `-` may sit at `firstAt` on the current line. */
  private blockSequence(indent: number, firstAt = -1): YamlValue[] {
    const items: YamlValue[] = [];
    let at = firstAt;
    for (;;) {
      let line = this.lines[this.li] as Line;
      if (at < 0) {
        const next = this.peek();
        if (next === undefined || next.indent < indent) break;
        if (next.indent > indent) unsupported();
        line = next;
        at = line.start + line.indent;
        if (this.text.charCodeAt(at) !== 45 || !this.isBlankOrEnd(at + 1, line.end)) break;
      }
      const before = this.li;
      items.push(this.afterIndicator(at + 1, indent, line));
      if (this.li <= before) unsupported();
      at = -1;
    }
    return items;
  }

  /** What follows a `- ` or a `key:`: a value on the same line, or a block on the next lines. */
  private afterIndicator(from: number, indent: number, line: Line, indentlessSeqAllowed = false): YamlValue {
    let i = from;
    while (i < line.end && this.text.charCodeAt(i) === 32) i++;
    if (i >= line.end || (this.text.charCodeAt(i) === 35 && i > from)) {
      // Nothing more on this line: the value is on the next lines, or null.
      this.li++;
      return this.nextLinesValue(indent, indentlessSeqAllowed, undefined);
    }
    let anchor: string | undefined;
    if (this.text.charCodeAt(i) === 38 /* & */) {
      const m = /^&([^\s,[\]{}]+)/.exec(this.text.slice(i, line.end));
      if (m === null) unsupported();
      anchor = m[1] as string;
      i += m[0].length;
      if (i < line.end && this.text.charCodeAt(i) !== 32) unsupported();
      while (i < line.end && this.text.charCodeAt(i) === 32) i++;
      if (i >= line.end || this.text.charCodeAt(i) === 35) {
        this.li++;
        return this.nextLinesValue(indent, indentlessSeqAllowed, anchor);
      }
    }
    const c = this.text.charCodeAt(i);
    let value: YamlValue;
    if (c === 45 && this.isBlankOrEnd(i + 1, line.end)) {
      if (indentlessSeqAllowed || anchor !== undefined) unsupported(); // `key: - a` is an error
      value = this.blockSequence(i - line.start, i);
    } else if (this.keyEnd(i, line.end) >= 0) {
      if (indentlessSeqAllowed || anchor !== undefined) unsupported(); // `key: other: v` is an error
      value = this.blockMapping(i - line.start, i);
    } else {
      value = this.inlineValue(i, line.end, indent);
    }
    if (anchor !== undefined) this.anchors.set(anchor, value);
    return value;
  }

  /** The value of a `key:` or `-` with nothing after it on its line. */
  private nextLinesValue(indent: number, indentlessSeqAllowed: boolean, anchor: string | undefined): YamlValue {
    const next = this.peek();
    let value: YamlValue = null;
    if (next !== undefined) {
      const at = next.start + next.indent;
      const isDash = this.text.charCodeAt(at) === 45 && this.isBlankOrEnd(at + 1, next.end);
      if (next.indent > indent) {
        if (isDash) value = this.blockSequence(next.indent);
        else if (this.keyEnd(at, next.end) >= 0) value = this.blockMapping(next.indent);
        else value = this.inlineValue(at, next.end, indent);
      } else if (next.indent === indent && isDash && indentlessSeqAllowed) {
        value = this.blockSequence(indent);
      }
    }
    if (anchor !== undefined) this.anchors.set(anchor, value);
    return value;
  }

  /**
   * If a block mapping key starts at `at`, the offset of its `:` indicator; else -1. Only plain
   * keys without `: ` or ` #` inside and one-line quoted keys are recognised.
   */
  private keyEnd(at: number, end: number): number {
    const t = this.text;
    const c = t.charCodeAt(at);
    if (c === 34 || c === 39) {
      const close = this.quotedEnd(at, end);
      if (close < 0) return -1;
      let i = close;
      while (i < end && t.charCodeAt(i) === 32) i++;
      if (i < end && t.charCodeAt(i) === 58 && this.isBlankOrEnd(i + 1, end)) return i;
      return -1;
    }
    if (!this.plainStart(at, end)) return -1;
    for (let i = at + 1; i < end; i++) {
      const ch = t.charCodeAt(i);
      if (ch === 58 && this.isBlankOrEnd(i + 1, end)) return i;
      if (ch === 35 && t.charCodeAt(i - 1) === 32) return -1;
    }
    return -1;
  }

  /** Whether a plain scalar may start at `at` (block context). */
  private plainStart(at: number, end: number): boolean {
    const c = this.text[at] as string;
    if ('-?:'.includes(c)) return !this.isBlankOrEnd(at + 1, end);
    return !',[]{}#&*!|>\'"%@`'.includes(c);
  }

  /** Offset just past the closing quote of a one-line quoted scalar at `at`, or -1. */
  private quotedEnd(at: number, end: number): number {
    const t = this.text;
    const q = t.charCodeAt(at);
    for (let i = at + 1; i < end; i++) {
      const ch = t.charCodeAt(i);
      if (q === 39 && ch === 39) {
        if (t.charCodeAt(i + 1) === 39 && i + 1 < end) {
          i++;
          continue;
        }
        return i + 1;
      }
      if (q === 34) {
        if (ch === 92) {
          i++;
          continue;
        }
        if (ch === 34) return i + 1;
      }
    }
    return -1;
  }

  /** A block mapping at column `indent`; its first key may sit at `firstAt` on the current line. */
  private blockMapping(indent: number, firstAt = -1): YamlMap {
    const map: YamlMap = new Map();
    let at = firstAt;
    for (;;) {
      let line = this.lines[this.li] as Line;
      if (at < 0) {
        const next = this.peek();
        if (next === undefined || next.indent < indent) break;
        if (next.indent > indent) unsupported();
        line = next;
        at = line.start + line.indent;
      }
      const colon = this.keyEnd(at, line.end);
      if (colon < 0) {
        const c = this.text.charCodeAt(at);
        if (c === 45 && this.isBlankOrEnd(at + 1, line.end) && at === line.start + line.indent) break; // an indentless sequence's parent takes it
        unsupported();
      }
      if (colon - at > 1024) unsupported();
      const keyText = this.text.slice(at, colon).trimEnd();
      const c = keyText.charCodeAt(0);
      const merge = keyText === '<<';
      const key: YamlKey = c === 34 || c === 39 ? this.quoted(keyText) : (resolvePlain(keyText).value as YamlKey);
      const before = this.li;
      const value = this.afterIndicator(colon + 1, indent, line, true);
      if (this.li <= before) unsupported();
      if (merge) this.merge(map, value);
      else map.set(key, value);
      at = -1;
    }
    return map;
  }

  /** A `<<` key: only what the full reader would merge; the rest it reports. */
  private merge(map: YamlMap, value: YamlValue): void {
    if (value instanceof Map) {
      for (const [k, v] of value) map.set(k, v);
    } else if (Array.isArray(value) && value.every((m) => m instanceof Map)) {
      for (let i = value.length - 1; i >= 0; i--) {
        for (const [k, v] of value[i] as YamlMap) map.set(k, v);
      }
    } else {
      unsupported();
    }
  }

  /**
   * A value that starts on this line after a `key:` or `-` (or at the document's start): a flow
   * collection, a quoted or plain scalar, a literal block scalar or an alias. Consumes the line.
   */
  private inlineValue(at: number, end: number, parent: number): YamlValue {
    const t = this.text;
    const c = t.charCodeAt(at);
    let value: YamlValue;
    let i: number;
    if (c === 124 /* | */) return this.literal(at, end, parent);
    if (c === 91 || c === 123) {
      const r = this.flow(at, end);
      value = r.value;
      i = r.next;
    } else if (c === 34 || c === 39) {
      i = this.quotedEnd(at, end);
      if (i < 0) unsupported();
      value = this.quoted(t.slice(at, i));
    } else if (c === 42 /* * */) {
      const m = /^\*([^\s,[\]{}]+)/.exec(t.slice(at, end));
      if (m === null) unsupported();
      const target = this.anchors.get(m[1] as string);
      if (target === undefined) unsupported();
      value = this.expand(target);
      i = at + m[0].length;
    } else {
      if (!this.plainStart(at, end)) unsupported();
      const first = this.plainLine(at, end);
      if (first.comment || !this.continues(parent)) {
        value = resolvePlain(t.slice(at, first.last)).value;
        this.li++;
      } else {
        this.li++;
        value = this.multiLinePlain(t.slice(at, first.last), parent);
      }
      const next = this.peekAny();
      if (next !== undefined && next.indent > parent && !this.isComment(next)) unsupported();
      return value;
    }
    if (!this.restIsBlank(i, end) && i < end) unsupported();
    this.li++;
    // A deeper line after a scalar would continue it (or be an error): leave that to the full parser.
    const next = this.peekAny();
    if (next !== undefined && next.indent > parent && !this.isComment(next)) unsupported();
    return value;
  }

  /** The text of a plain scalar's line from `at`: where it ends, and whether a comment ends it. */
  private plainLine(at: number, end: number): { last: number; comment: boolean } {
    const t = this.text;
    let last = at;
    for (let i = at; i < end; i++) {
      const ch = t.charCodeAt(i);
      if (ch === 32) continue;
      if (ch === 35 && i > at && t.charCodeAt(i - 1) === 32) return { last, comment: true };
      if (ch === 58 && this.isBlankOrEnd(i + 1, end)) unsupported();
      last = i + 1;
    }
    return { last, comment: false };
  }

  /** Whether a plain scalar on the current line goes on to the next non-empty line. */
  private continues(parent: number): boolean {
    for (let j = this.li + 1; j < this.docEnd; j++) {
      const line = this.lines[j] as Line;
      if (line.indent === line.end - line.start) continue;
      return line.indent > parent && !this.isComment(line);
    }
    return false;
  }

  /**
   * A plain scalar folded over several lines: lines joined by a space, each empty line between
   * them kept as a line break. Ends at a line not deeper than `parent` or at a comment.
   */
  private multiLinePlain(firstLine: string, parent: number): string {
    const t = this.text;
    let out = firstLine;
    let empty = 0;
    while (this.li < this.docEnd) {
      const line = this.lines[this.li] as Line;
      if (line.indent === line.end - line.start) {
        empty++;
        this.li++;
        continue;
      }
      if (line.indent <= parent || this.isComment(line)) break;
      const at = line.start + line.indent;
      if (!this.plainStart(at, line.end) || (t.charCodeAt(at) === 45 && this.isBlankOrEnd(at + 1, line.end)))
        unsupported();
      if (line.indent === 0 && (this.isMarker(line, '---') || this.isMarker(line, '...'))) unsupported();
      const part = this.plainLine(at, line.end);
      out += empty === 0 ? ' ' : '\n'.repeat(empty);
      out += t.slice(at, part.last);
      empty = 0;
      this.li++;
      if (part.comment) break;
    }
    return out;
  }

  /**
   * A copy of an anchored value for an alias. Past a budget of copied nodes the full reader
   * takes over: it applies yaml.v2's limit on alias expansion (and its error).
   */
  private expand(target: YamlValue): YamlValue {
    const copy = (v: YamlValue): YamlValue => {
      if (++this.expanded > 20_000) unsupported();
      if (v instanceof Map) {
        const m: YamlMap = new Map();
        for (const [k, x] of v) m.set(k, copy(x));
        return m;
      }
      return Array.isArray(v) ? v.map(copy) : v;
    };
    return copy(target);
  }

  /** The next line that is not empty (comments included), without consuming anything. */
  private peekAny(): Line | undefined {
    for (let j = this.li; j < this.docEnd; j++) {
      const line = this.lines[j] as Line;
      if (line.indent !== line.end - line.start) return line;
    }
    return undefined;
  }

  private isComment(line: Line): boolean {
    return this.text.charCodeAt(line.start + line.indent) === 35;
  }

  private quoted(s: string): string {
    if (s.charCodeAt(0) === 39) return s.slice(1, -1).replaceAll("''", "'");
    const body = s.slice(1, -1);
    if (!body.includes('\\')) return body;
    return body.replace(/\\(.)/g, (_m, e: string) => {
      switch (e) {
        case '\\':
          return '\\';
        case '"':
          return '"';
        case 'n':
          return '\n';
        case 't':
          return '\t';
        case ' ':
          return ' ';
        case '0':
          return '\0';
        default:
          return unsupported();
      }
    });
  }

  /**
   * A literal block scalar (`|`, `|-`, `|+`) with auto-detected indentation, as libyaml scans it:
   * content lines joined by their breaks, then the chomping decides the final breaks.
   */
  private literal(at: number, end: number, parent: number): string {
    const t = this.text;
    const m = /^\|([-+])?(?:[ ]+#.*|[ ]*)$/.exec(t.slice(at, end));
    if (m === null || parent < 0) unsupported();
    const chomp = m[1] ?? '';
    this.li++;
    let indent = -1;
    let leadingMax = 0;
    let body = '';
    let trailing = 0;
    let sawContent = false;
    let contentBreak = false;
    for (; this.li < this.docEnd; this.li++) {
      const line = this.lines[this.li] as Line;
      const len = line.end - line.start;
      const allSpaces = line.indent === len;
      const hasBreak = line.end < t.length;
      if (indent < 0) {
        if (allSpaces) {
          leadingMax = Math.max(leadingMax, len);
          if (hasBreak) trailing++;
          continue;
        }
        if (line.indent <= parent || leadingMax > line.indent) unsupported();
        indent = line.indent;
      }
      if (allSpaces && len <= indent) {
        if (hasBreak) trailing++;
        continue;
      }
      if (line.indent < indent) break;
      if (sawContent) body += '\n';
      if (trailing > 0) body += '\n'.repeat(trailing);
      trailing = 0;
      body += t.slice(line.start + indent, line.end);
      sawContent = true;
      contentBreak = hasBreak;
    }
    if (!sawContent) unsupported();
    if (chomp === '-') return body;
    if (contentBreak) body += '\n';
    if (chomp === '+') body += '\n'.repeat(trailing);
    return body;
  }

  /** A flow collection that opens and closes on this line. */
  private flow(at: number, end: number): { value: YamlValue; next: number } {
    const t = this.text;
    const open = t.charCodeAt(at);
    const isSeq = open === 91;
    const close = isSeq ? 93 : 125;
    let i = this.skipSpaces(at + 1, end);
    const seq: YamlValue[] = [];
    const map: YamlMap = new Map();
    if (t.charCodeAt(i) === close) return { value: isSeq ? seq : map, next: i + 1 };
    for (;;) {
      const item = this.flowItem(i, end);
      i = this.skipSpaces(item.next, end);
      if (isSeq) {
        if (t.charCodeAt(i) === 58) unsupported(); // a single-pair map inside a sequence
        seq.push(item.value);
      } else {
        if (t.charCodeAt(i) !== 58 || !this.isBlankOrEnd(i + 1, end)) unsupported();
        if (item.value instanceof Map || Array.isArray(item.value) || item.plainText === '<<') unsupported();
        const v = this.flowItem(this.skipSpaces(i + 1, end), end);
        map.set(item.value as YamlKey, v.value);
        i = this.skipSpaces(v.next, end);
      }
      const ch = t.charCodeAt(i);
      if (ch === close) return { value: isSeq ? seq : map, next: i + 1 };
      if (ch !== 44) unsupported();
      i = this.skipSpaces(i + 1, end);
      if (i >= end || t.charCodeAt(i) === close || t.charCodeAt(i) === 44) unsupported();
    }
  }

  private skipSpaces(i: number, end: number): number {
    while (i < end && this.text.charCodeAt(i) === 32) i++;
    if (i >= end) unsupported(); // a flow collection spanning lines
    return i;
  }

  private flowItem(at: number, end: number): { value: YamlValue; next: number; plainText?: string } {
    const t = this.text;
    const c = t.charCodeAt(at);
    if (c === 91 || c === 123) return this.flow(at, end);
    if (c === 34 || c === 39) {
      const close = this.quotedEnd(at, end);
      if (close < 0) unsupported();
      return { value: this.quoted(this.text.slice(at, close)), next: close };
    }
    let i = at;
    for (; i < end; i++) {
      const ch = t[i] as string;
      if (ch === ',' || ch === ']' || ch === '}' || ch === ':') break;
      if (ch === '[' || ch === '{' || ch === '#' || ch === '"' || ch === "'") unsupported();
    }
    const text = t.slice(at, i).trimEnd();
    if (text === '' || !this.plainStart(at, end) || (text.length === 1 && '-?:'.includes(text))) unsupported();
    return { value: resolvePlain(text).value, next: i, plainText: text };
  }
}
