/**
 * Double-quoted scalars as libyaml (so yaml.v2) decodes them. The `yaml` package follows YAML
 * 1.2, whose escapes differ from libyaml's: it accepts `\/` (libyaml: "found unknown escape
 * character") and refuses `\'` (libyaml: an apostrophe). The full reader decodes every
 * double-quoted scalar holding a backslash with this instead.
 */

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  "'": "'",
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

function isBreak(c: string | undefined): boolean {
  return c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
}

/** A problem found while decoding, with its offset in the quoted source. */
export class DoubleQuotedError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Decodes `source`, the scalar with both its quotes, as libyaml's yaml_parser_scan_flow_scalar
 * does: escapes, then line folding (a single line break is a space, each further empty line a
 * line break, blanks around breaks dropped, an escaped line break joins without a space).
 */
export function decodeDoubleQuoted(source: string): string {
  const chars = Array.from(source.slice(1, -1));
  let out = '';
  let i = 0;
  let offset = 1;
  const n = chars.length;
  const take = (): string => {
    const c = chars[i++] as string;
    offset += c.length;
    return c;
  };
  const readLine = (): string => {
    const c = take();
    if (c === '\r' && chars[i] === '\n') take();
    return c === '\r' || c === '\n' ? '\n' : c;
  };
  for (;;) {
    let leadingBlanks = false;
    while (i < n && chars[i] !== ' ' && chars[i] !== '\t' && !isBreak(chars[i])) {
      const c = take();
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = chars[i];
      if (isBreak(e)) {
        readLine();
        leadingBlanks = true;
        break;
      }
      const at = offset - 1;
      if (e === undefined) throw new DoubleQuotedError('found unexpected end of stream', at);
      take();
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      const len = HEX_LENGTH[e];
      if (len === undefined) throw new DoubleQuotedError('found unknown escape character', at);
      const hex = chars.slice(i, i + len).join('');
      if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) {
        throw new DoubleQuotedError('did not find expected hexdecimal number', at);
      }
      const code = parseInt(hex, 16);
      if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
        throw new DoubleQuotedError('found invalid Unicode character escape code', at);
      }
      for (let k = 0; k < len; k++) take();
      out += String.fromCodePoint(code);
    }
    if (i >= n) break;
    let whitespaces = '';
    let leadingBreak = '';
    let trailingBreaks = '';
    while (i < n && (chars[i] === ' ' || chars[i] === '\t' || isBreak(chars[i]))) {
      if (!isBreak(chars[i])) {
        const c = take();
        if (!leadingBlanks) whitespaces += c;
      } else if (!leadingBlanks) {
        whitespaces = '';
        leadingBreak = readLine();
        leadingBlanks = true;
      } else {
        trailingBreaks += readLine();
      }
    }
    if (leadingBlanks) {
      if (leadingBreak === '\n') out += trailingBreaks === '' ? ' ' : trailingBreaks;
      else out += leadingBreak + trailingBreaks;
    } else {
      out += whitespaces;
    }
    if (i >= n) break;
  }
  return out;
}
