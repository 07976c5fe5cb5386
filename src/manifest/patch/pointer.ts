import { PatchError } from './errors.js';
import type { Modifier, Token } from './tokens.js';
import { rootToken } from './tokens.js';

/**
 * A go-patch pointer: RFC 6901 plus `?` (optional, carried over to the tokens on its right),
 * `key=value` selectors, `-` (after the last index), negative indexes and `:prev`, `:next`,
 * `:before`, `:after`. `~0` is `~`, `~1` is `/` and `~7` is `:`.
 */
export class Pointer {
  readonly tokens: readonly Token[];

  /** Throws unless `tokens` starts with the root token (go-patch panics there). */
  constructor(tokens: readonly Token[]) {
    if (tokens.length === 0) throw new PatchError('Expected at least one token');
    if (tokens[0]?.kind !== 'root') throw new PatchError('Expected first token to be root');
    this.tokens = tokens;
  }

  /** The pointer made of the first `count` tokens (the path walked so far, as errors print it). */
  prefix(count: number): Pointer {
    return new Pointer(this.tokens.slice(0, count));
  }

  /** go-patch's Pointer.String(): escapes keys and prints `?` once, on the first optional token. */
  toString(): string {
    const parts: string[] = [];
    let optional = false;
    for (const token of this.tokens) {
      switch (token.kind) {
        case 'root':
          parts.push('');
          break;
        case 'index':
          parts.push(`${token.index}${modifiersString(token.modifiers)}`);
          break;
        case 'after-last-index':
          parts.push('-');
          break;
        case 'matching-index': {
          let value = encode(token.value);
          if (token.optional && !optional) {
            value += '?';
            optional = true;
          }
          parts.push(`${encode(token.key)}=${value}${modifiersString(token.modifiers)}`);
          break;
        }
        case 'key': {
          let key = encode(token.key);
          if (token.optional && !optional) {
            key += '?';
            optional = true;
          }
          parts.push(key);
          break;
        }
      }
    }
    return parts.join('/');
  }
}

const MODIFIERS: ReadonlySet<string> = new Set(['prev', 'next', 'before', 'after']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Parses a go-patch path (`''` is the whole document; `/` is the map key `''`). Throws PatchError. */
export function parsePointer(str: string): Pointer {
  const tokens: Token[] = [rootToken];
  if (str.length === 0) return new Pointer(tokens);
  if (!str.startsWith('/')) throw new PatchError("Expected to start with '/'");

  const tokenStrs = str.split('/').slice(1);
  let optional = false;

  tokenStrs.forEach((raw, i) => {
    const isLast = i === tokenStrs.length - 1;
    const pieces = raw.split(':');
    let tok = raw;
    const modifiers: Modifier[] = [];
    if (pieces.length > 1) {
      tok = pieces[0] as string;
      for (const p of pieces.slice(1)) {
        if (!MODIFIERS.has(p)) {
          // go-patch names the first modifier here, not the unknown one
          throw new PatchError(
            `Expected to find one of the following modifiers: 'prev', 'next', 'before', or 'after' but found '${pieces[1]}'`,
          );
        }
        modifiers.push(p as Modifier);
      }
    }

    tok = decode(tok);

    if (isLast && tok === '-') {
      if (modifiers.length > 0) throw new PatchError('Expected not to find any modifiers with after last index token');
      tokens.push({ kind: 'after-last-index' });
      return;
    }

    const index = goAtoi(tok);
    if (index !== undefined) {
      tokens.push({ kind: 'index', index, modifiers });
      return;
    }

    if (tok.endsWith('?')) optional = true;

    const eq = tok.indexOf('=');
    if (eq >= 0) {
      tokens.push({
        kind: 'matching-index',
        key: tok.slice(0, eq),
        value: trimQuestionMark(tok.slice(eq + 1)),
        optional,
        modifiers,
      });
      return;
    }

    if (modifiers.length > 0) throw new PatchError('Expected not to find any modifiers with key token');

    tokens.push({ kind: 'key', key: trimQuestionMark(tok), optional });
  });

  return new Pointer(tokens);
}

/** strconv.Atoi: optional sign, decimal digits, within int64; anything else is not an index. */
function goAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n < INT64_MIN || n > INT64_MAX) return undefined;
  return Number(n);
}

function trimQuestionMark(s: string): string {
  return s.endsWith('?') ? s.slice(0, -1) : s;
}

const DECODE: Readonly<Record<string, string>> = { '~0': '~', '~1': '/', '~7': ':' };

function decode(s: string): string {
  return s.replace(/~[017]/g, (m) => DECODE[m] as string);
}

function encode(s: string): string {
  return s.replace(/[~/:]/g, (c) => (c === '~' ? '~0' : c === '/' ? '~1' : '~7'));
}

function modifiersString(modifiers: readonly Modifier[]): string {
  return modifiers.map((m) => `:${m}`).join('');
}
