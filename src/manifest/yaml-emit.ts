/**
 * The YAML writer: what gopkg.in/yaml.v2 v2.4.0's Marshal prints for a decoded value, byte for
 * byte (this is what `bosh int` prints). It follows yaml.v2's encoder (which style each value
 * asks for) and its libyaml-derived emitter (which style it gets, where lines break): block
 * style, 2-space indent, sequences in maps not indented, `[]`/`{}` for empty collections, keys in
 * sorter.go order, strings quoted only when a plain scalar would read back as something else or
 * cannot carry them, multi-line strings as literal blocks, and plain or quoted scalars folded at
 * a space once the line passes 80 columns.
 */
import type { YamlKey, YamlValue } from './value.js';
import { plainReadsAsString } from './yaml-resolve.js';
import { sortKeys } from './yaml-sort.js';

const BEST_INDENT = 2;
const BEST_WIDTH = 80;

type Style = 'plain' | 'single' | 'double' | 'literal';

interface Analysis {
  readonly multiline: boolean;
  readonly flowPlain: boolean;
  readonly blockPlain: boolean;
  readonly singleQuoted: boolean;
  readonly block: boolean;
}

function isBreak(c: string): boolean {
  return c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
}

/** libyaml's is_printable, on code points (characters outside the BMP are not printable). */
function isPrintable(c: string): boolean {
  const p = c.codePointAt(0)!;
  return (
    p === 0x0a || (p >= 0x20 && p <= 0x7e) || (p >= 0xa0 && p <= 0xd7ff) || (p >= 0xe000 && p <= 0xfffd && p !== 0xfeff)
  );
}

/** libyaml's yaml_emitter_analyze_scalar: which styles can carry the text. */
function analyze(chars: readonly string[]): Analysis {
  if (chars.length === 0) {
    return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  let precededByWhitespace = true;

  const head = chars.slice(0, 3).join('');
  if (chars.length >= 3 && (head === '---' || head === '...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  const n = chars.length;
  for (let i = 0; i < n; i++) {
    const c = chars[i] as string;
    const next = chars[i + 1];
    const followedByWhitespace = next === undefined || next === ' ' || next === '\t';
    if (i === 0) {
      switch (c) {
        case '#':
        case ',':
        case '[':
        case ']':
        case '{':
        case '}':
        case '&':
        case '*':
        case '!':
        case '|':
        case '>':
        case "'":
        case '"':
        case '%':
        case '@':
        case '`':
          flowIndicators = true;
          blockIndicators = true;
          break;
        case '?':
        case ':':
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case '-':
          if (followedByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    } else {
      switch (c) {
        case ',':
        case '?':
        case '[':
        case ']':
        case '{':
        case '}':
          flowIndicators = true;
          break;
        case ':':
          flowIndicators = true;
          if (followedByWhitespace) blockIndicators = true;
          break;
        case '#':
          if (precededByWhitespace) {
            flowIndicators = true;
            blockIndicators = true;
          }
          break;
      }
    }
    if (!isPrintable(c)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = c === ' ' || c === '\t' || isBreak(c);
  }

  let flowPlain = true;
  let blockPlain = true;
  let singleQuoted = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    flowPlain = false;
    blockPlain = false;
  }
  if (trailingSpace) block = false;
  if (breakSpace) {
    flowPlain = false;
    blockPlain = false;
    singleQuoted = false;
  }
  if (spaceBreak || special) {
    flowPlain = false;
    blockPlain = false;
    singleQuoted = false;
    block = false;
  }
  if (lineBreaks) {
    flowPlain = false;
    blockPlain = false;
  }
  if (flowIndicators) flowPlain = false;
  if (blockIndicators) blockPlain = false;
  return { multiline: lineBreaks, flowPlain, blockPlain, singleQuoted, block };
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), with yaml.v2's spellings of the infinities and NaN. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return '.nan';
  if (f === Infinity) return '.inf';
  if (f === -Infinity) return '-.inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa, expText] = f.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  return String(f);
}

/**
 * An integral number prints as Go prints an int (or a uint64 above int64's range); beyond that
 * range it can only have been a float64 in Go, and prints as one.
 */
function formatNumber(n: number): string {
  if (Number.isInteger(n) && !Object.is(n, -0) && n >= -(2 ** 63) && n < 2 ** 64) return BigInt(n).toString();
  return formatGoFloat(n);
}

/** A scalar as yaml.v2's encoder hands it to the emitter: its text and the style it asks for. */
function scalarOf(v: null | boolean | number | bigint | string): { text: string; style: Style } {
  if (v === null) return { text: 'null', style: 'plain' };
  if (typeof v === 'boolean') return { text: String(v), style: 'plain' };
  if (typeof v === 'number') return { text: formatNumber(v), style: 'plain' };
  if (typeof v === 'bigint') return { text: v.toString(), style: 'plain' };
  if (v.includes('\n')) return { text: v, style: 'literal' };
  return { text: v, style: plainReadsAsString(v) ? 'plain' : 'double' };
}

/**
 * Scalars the emitter writes as they are, whatever the style: no indicator at the start, no
 * space, quote, colon, hash or comma anywhere, ASCII only, at most 60 characters (so never
 * folded), and not a `...` document marker.
 */
const SIMPLE = /^[A-Za-z0-9_./()=+$^~][A-Za-z0-9_./()=+$^~-]{0,59}$/;

// Map keys repeat across a manifest (name, properties, jobs, ...): whether each prints as is.
const plainSimple = new Map<string, boolean>();

/** A SIMPLE string that reads back as a string: written plain, as it is, in any context. */
function isPlainSimple(s: string): boolean {
  let known = plainSimple.get(s);
  if (known === undefined) {
    known = SIMPLE.test(s) && !s.startsWith('...') && plainReadsAsString(s);
    if (plainSimple.size < 10_000) plainSimple.set(s, known);
  }
  return known;
}

/** The emitter's state, as libyaml keeps it. */
class Emitter {
  private out = '';
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent = -1;
  private readonly indents: number[] = [];
  private flowLevel = 0;
  private mappingContext = false;
  private simpleKeyContext = false;

  document(value: YamlValue): string {
    this.node(value, false, false);
    this.writeIndent();
    return this.out;
  }

  private put(s: string): void {
    this.out += s;
    this.column++;
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  /** write_break: a line feed is written as the emitter's break, other breaks as themselves. */
  private writeBreak(c: string): void {
    this.out += c;
    this.column = 0;
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() as number;
  }

  private writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.putBreak();
    }
    if (this.column < indent) {
      this.out += ' '.repeat(indent - this.column);
      this.column = indent;
    }
    this.whitespace = true;
    this.indention = true;
  }

  private writeIndicator(
    indicator: string,
    needWhitespace: boolean,
    isWhitespace: boolean,
    isIndention: boolean,
  ): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.out += indicator;
    this.column += indicator.length;
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  private node(value: YamlValue | undefined, mapping: boolean, simpleKey: boolean): void {
    // An undefined that slipped into a document prints as Go's nil would.
    const v = value === undefined ? null : value;
    this.mappingContext = mapping;
    this.simpleKeyContext = simpleKey;
    if (Array.isArray(v)) {
      if (v.length === 0 || this.flowLevel > 0) this.emptyFlow('[', ']');
      else this.blockSequence(v);
    } else if (v instanceof Map) {
      if (v.size === 0 || this.flowLevel > 0) this.emptyFlow('{', '}');
      else this.blockMapping(v);
    } else if (typeof v === 'string' && isPlainSimple(v)) {
      this.simpleScalar(v, 'plain');
    } else {
      const { text, style } = scalarOf(v);
      if (SIMPLE.test(text) && !text.startsWith('...')) this.simpleScalar(text, style);
      else this.scalar(Array.from(text), style);
    }
  }

  private emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true, false);
    this.increaseIndent(true, false);
    this.popIndent();
    this.writeIndicator(close, false, false, false);
  }

  private blockSequence(items: readonly YamlValue[]): void {
    this.increaseIndent(false, this.mappingContext && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, false, false);
    }
    this.popIndent();
  }

  private blockMapping(map: ReadonlyMap<YamlKey, YamlValue>): void {
    this.increaseIndent(false, false);
    for (const key of sortKeys(map.keys())) {
      const value = map.get(key) as YamlValue;
      this.writeIndent();
      if (typeof key === 'string' && isPlainSimple(key)) {
        // What node(key, true, true) and the ':' indicator write for such a key, in one step.
        this.out += key + ':';
        this.column += key.length + 1;
        this.whitespace = false;
        this.indention = false;
      } else if (this.isSimpleKey(key)) {
        this.node(key, true, true);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.node(key, true, false);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(value, true, false);
    }
    this.popIndent();
  }

  /** yaml_emitter_check_simple_key for a scalar key: one line, at most 128 bytes. */
  private isSimpleKey(key: YamlKey): boolean {
    const { text } = scalarOf(key);
    if (/[\n\r\u0085\u2028\u2029]/.test(text)) return false;
    return Buffer.byteLength(text, 'utf8') <= 128;
  }

  /**
   * The common case, written in one go: a short run of ASCII letters, digits and harmless
   * punctuation, which every style carries as is (no escapes, no folding, no quoting needed).
   */
  private simpleScalar(text: string, style: Style): void {
    if (style === 'plain') {
      if (!this.whitespace) this.put(' ');
      this.out += text;
      this.column += text.length;
    } else {
      this.writeIndicator('"', true, false, false);
      this.out += text;
      this.column += text.length;
      this.writeIndicator('"', false, false, false);
    }
    this.whitespace = false;
    this.indention = false;
  }

  private scalar(chars: string[], requested: Style): void {
    const a = analyze(chars);
    let style = requested;
    if (this.simpleKeyContext && a.multiline) style = 'double';
    if (style === 'plain') {
      if ((this.flowLevel > 0 && !a.flowPlain) || (this.flowLevel === 0 && !a.blockPlain)) style = 'single';
      if (chars.length === 0 && (this.flowLevel > 0 || this.simpleKeyContext)) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'literal' && (!a.block || this.flowLevel > 0 || this.simpleKeyContext)) style = 'double';

    this.increaseIndent(true, false);
    const allowBreaks = !this.simpleKeyContext;
    if (style === 'plain') this.plain(chars, allowBreaks);
    else if (style === 'single') this.singleQuoted(chars, allowBreaks);
    else if (style === 'double') this.doubleQuoted(chars, allowBreaks);
    else this.literal(chars);
    this.popIndent();
  }

  private plain(chars: readonly string[], allowBreaks: boolean): void {
    if (!this.whitespace) this.put(' ');
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i] as string;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && chars[i + 1] !== ' ') this.writeIndent();
        else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private singleQuoted(chars: readonly string[], allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    let spaces = false;
    let breaks = false;
    const n = chars.length;
    for (let i = 0; i < n; i++) {
      const c = chars[i] as string;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < n - 1 && chars[i + 1] !== ' ') {
          this.writeIndent();
        } else {
          this.put(c);
        }
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private doubleQuoted(chars: readonly string[], allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    // libyaml's is_bom looks at the start of the value, not at the character in hand.
    const startsWithBom = chars[0] === '\ufeff';
    let spaces = false;
    const n = chars.length;
    for (let i = 0; i < n; i++) {
      const c = chars[i] as string;
      if (!isPrintable(c) || startsWithBom || isBreak(c) || c === '"' || c === '\\') {
        this.put('\\');
        this.put(escape(c));
        this.column += escape(c).length - 1;
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < n - 1) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else {
          this.put(c);
        }
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private literal(chars: readonly string[]): void {
    this.writeIndicator('|', true, false, false);
    this.blockScalarHints(chars);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of chars) {
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(c);
        this.indention = false;
        breaks = false;
      }
    }
  }

  private blockScalarHints(chars: readonly string[]): void {
    const first = chars[0];
    if (first === ' ' || (first !== undefined && isBreak(first))) {
      this.writeIndicator(String(BEST_INDENT), false, false, false);
    }
    const n = chars.length;
    let chomp = '';
    if (n === 0 || !isBreak(chars[n - 1] as string)) chomp = '-';
    else if (n === 1 || isBreak(chars[n - 2] as string)) chomp = '+';
    if (chomp) this.writeIndicator(chomp, false, false, false);
  }
}

/** The escape libyaml writes after a backslash in a double-quoted scalar. */
function escape(c: string): string {
  switch (c) {
    case '\0':
      return '0';
    case '\x07':
      return 'a';
    case '\b':
      return 'b';
    case '\t':
      return 't';
    case '\n':
      return 'n';
    case '\v':
      return 'v';
    case '\f':
      return 'f';
    case '\r':
      return 'r';
    case '\x1b':
      return 'e';
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\u0085':
      return 'N';
    case '\u00a0':
      return '_';
    case '\u2028':
      return 'L';
    case '\u2029':
      return 'P';
  }
  const p = c.codePointAt(0)!;
  const hex = p.toString(16).toUpperCase();
  if (p <= 0xff) return `x${hex.padStart(2, '0')}`;
  if (p <= 0xffff) return `u${hex.padStart(4, '0')}`;
  return `U${hex.padStart(8, '0')}`;
}

/** yaml.Marshal of a decoded value: one document, no `---`, ending in a line break. */
export function emitYaml(value: YamlValue): string {
  return new Emitter().document(value);
}
