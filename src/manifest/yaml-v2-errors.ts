/**
 * What yaml.v2 (so bosh-cli) says for a YAML error, e.g. `yaml: line 2: did not find expected key`,
 * so that the CLI can print bosh's words. yaml.v2 reports libyaml's problem text with a line
 * number computed its own way: for a scanner error the 1-based line of the problem, for a parser
 * error the 0-based one (a quirk of decode.go's parser.fail), and no line at all when that
 * number is 0 or for errors found while decoding (unknown anchors, bad tags, merge keys...).
 *
 * The `yaml` package finds the same errors but describes them in YAML 1.2 terms; the common ones
 * are translated here, the rest have no yaml.v2 text (undefined).
 */
import type { YamlValue } from './value.js';
import { formatGoFloat } from './yaml-emit.js';

/** Which libyaml stage reports a problem, which decides how yaml.v2 numbers its line. */
export type YamlV2Stage = 'scanner' | 'parser' | 'decoder';

function line0(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** yaml.v2's text for `problem` found at `offset` by `stage`. */
export function yamlV2Message(stage: YamlV2Stage, text: string, offset: number, problem: string): string {
  if (stage === 'decoder') return `yaml: ${problem}`;
  const l0 = line0(text, offset);
  const shown = stage === 'scanner' ? l0 + 1 : l0;
  return l0 === 0 ? `yaml: ${problem}` : `yaml: line ${shown}: ${problem}`;
}

/** The offset of the first `:` indicator (followed by a space or a line end) at or after `from`. */
function nextValueIndicator(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === ':' && (i + 1 >= text.length || ' \n\r\t'.includes(text[i + 1] as string))) return i;
  }
  return from;
}

/** The offset of the stream's end as libyaml marks it: a line of its own. */
function streamEndLine0(text: string): number {
  const l0 = line0(text, text.length);
  return text.length > 0 && !text.endsWith('\n') ? l0 + 1 : l0;
}

/** yaml.v2's text for an error of the `yaml` package (code, message, offset), when known. */
export function translateParseError(code: string, message: string, offset: number, text: string): string | undefined {
  if (code === 'TAB_AS_INDENT' || code === 'BAD_SCALAR_START') {
    return yamlV2Message('scanner', text, offset, 'found character that cannot start any token');
  }
  if (code === 'MISSING_CHAR' && /^Missing closing ["']quote/.test(message)) {
    return yamlV2Message('scanner', text, text.length, 'found unexpected end of stream');
  }
  if (code === 'BLOCK_AS_IMPLICIT_KEY') {
    return yamlV2Message(
      'scanner',
      text,
      nextValueIndicator(text, offset),
      'mapping values are not allowed in this context',
    );
  }
  if (code === 'MULTILINE_IMPLICIT_KEY') return yamlV2Message('parser', text, offset, 'did not find expected key');
  if (code === 'BAD_INDENT') {
    const flow = /^Flow (sequence|map) in block collection/.exec(message);
    if (flow !== null) {
      const problem = `did not find expected ',' or '${flow[1] === 'map' ? '}' : ']'}'`;
      const l0 = offset >= text.length ? streamEndLine0(text) : line0(text, offset);
      return l0 === 0 ? `yaml: ${problem}` : `yaml: line ${l0}: ${problem}`;
    }
    if (message.startsWith('All mapping items must start at the same column')) {
      return yamlV2Message(
        'parser',
        text,
        offset,
        inSequenceAt(text, offset) ? "did not find expected '-' indicator" : 'did not find expected key',
      );
    }
  }
  return undefined;
}

/** Whether the block collection open at `offset`'s column, on the lines above, is a sequence. */
function inSequenceAt(text: string, at: number): boolean {
  let offset = at;
  while (text[offset] === ' ') offset++;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const column = offset - lineStart;
  const above = text.slice(0, lineStart).split('\n').reverse();
  for (const line of above) {
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const indent = line.length - trimmed.length;
    if (indent < column) return false;
    if (indent === column) return trimmed === '-' || trimmed.startsWith('- ');
  }
  return false;
}

/** Go's `%#v` of a decoded value, as yaml.v2 prints an invalid map key. */
export function goSyntax(v: YamlValue): string {
  if (v === null) return 'interface {}(nil)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
    return Number.isInteger(v) ? String(v) : formatGoFloat(v);
  }
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  const entries = [...v].sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  return `map[interface {}]interface {}{${entries.map(([k, x]) => `${goSyntax(k)}:${goSyntax(x)}`).join(', ')}}`;
}
