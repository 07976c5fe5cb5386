/**
 * The YAML codec of the manifest layer: it reads and writes YAML exactly as bosh-cli does, and
 * bosh-cli uses gopkg.in/yaml.v2 (v2.4.0): YAML 1.1 scalars (`yes` is true, `0755` is 493,
 * `50_000` is 50000), typed map keys, `<<` merge keys, only the first document of a stream, and
 * on output block style with keys in yaml.v2's "natural" order and its quoting rules.
 *
 * Why the `yaml` package (eemeli) and not js-yaml: js-yaml turns every map key into a string
 * (`yes:` and `8080:` would come back as "true" and "8080") and resolves scalars with its own
 * YAML 1.1 rules, which differ from yaml.v2's (`50_000` is a string there, and a comment-only
 * file is an error). The `yaml` package's Parser + Composer give us the syntax tree with each
 * scalar's source text, quoting style, tag, anchor and position, so this file types scalars
 * itself with yaml.v2's resolve.go rules (yaml-resolve.ts) and builds Maps with typed keys.
 * That full reader is thorough but slow (about 25 ms of CPU for cf-deployment.yml, 88 KB), so a
 * fast reader (yaml-fast.ts) reads the block-structured subset manifests are written in (all of
 * cf-deployment.yml in about 1.5 ms) and hands anything else, and every error, to the full one.
 * The writer (yaml-emit.ts) is our own: no library prints yaml.v2's key order, quoting and line
 * folding (cf-deployment.yml in about 2 ms).
 *
 * Known differences from yaml.v2: numbers are JavaScript doubles, so integers beyond 2^53 are
 * rounded and an integral float (`1e6`) prints as an int (`1000000`, Go: `1e+06`); error texts
 * are the `yaml` package's where libyaml's are not reproduced; junk after a root scalar or flow
 * collection is an error here, while yaml.v2 stops reading at the root node's end.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Node as YNode, Document } from 'yaml';

// The `yaml` package is loaded on first use: the fast reader answers for the block style that
// manifests use, so `director int` usually never pays its import (about 25 ms).
type YamlLib = typeof Yaml;
let lib: YamlLib | undefined;
const yamlLib = (): YamlLib => (lib ??= createRequire(import.meta.url)('yaml') as YamlLib);
const isAlias = ((n: unknown) => yamlLib().isAlias(n)) as YamlLib['isAlias'];
const isMap = ((n: unknown) => yamlLib().isMap(n)) as YamlLib['isMap'];
const isScalar = ((n: unknown) => yamlLib().isScalar(n)) as YamlLib['isScalar'];
const isSeq = ((n: unknown) => yamlLib().isSeq(n)) as YamlLib['isSeq'];
import { DirectorError } from '../errors.js';
import type { YamlKey, YamlMap, YamlValue } from './value.js';
import { MERGE_TAG, resolvePlain, resolveTagged } from './yaml-resolve.js';
import { emitYaml } from './yaml-emit.js';
import { UNSUPPORTED, parseFast } from './yaml-fast.js';
import { DoubleQuotedError, decodeDoubleQuoted } from './yaml-double-quoted.js';
import { goSyntax, translateParseError, yamlV2Message } from './yaml-v2-errors.js';

/** A YAML file that cannot be read: names the file and the 1-based line and column. */
export class YamlSyntaxError extends DirectorError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly problem: string;
  /**
   * What bosh-cli (yaml.v2) says for this error, e.g. `yaml: line 2: did not find expected key`,
   * when this reader knows it; undefined otherwise.
   */
  readonly yamlV2Message: string | undefined;

  constructor(file: string, line: number, column: number, problem: string, yamlV2Message?: string) {
    super(`Parsing YAML file '${file}': line ${line}, column ${column}: ${problem}`);
    this.name = 'YamlSyntaxError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.problem = problem;
    this.yamlV2Message = yamlV2Message;
  }
}

/**
 * Reads YAML text as bosh-cli's yaml.Unmarshal into interface{} does: the first document only,
 * null for an empty (or comment-only) text. `file` names the source in errors.
 */
export function parseYaml(text: string, file: string): YamlValue {
  checkControl(text, file);
  // libyaml reads a CRLF line break as a line feed, so the fast reader may see LF only.
  const fast = parseFast(text.includes('\r\n') ? text.replaceAll('\r\n', '\n') : text);
  if (fast !== UNSUPPORTED) return fast;
  return parseFull(text, file);
}

/**
 * Reads a map whose keys are names, as yaml.v2 decodes into map[string]interface{} (bosh-cli's
 * vars files): the root map's keys are strings as written (`n: 3` defines `n`, not `false`;
 * `8080:` the string '8080'); everything else is read as parseYaml reads it.
 */
export function parseYamlNamedKeys(text: string, file: string): YamlValue {
  const typed = parseYaml(text, file);
  if (!(typed instanceof Map) || [...typed.keys()].every((k) => typeof k === 'string')) return typed;
  return parseFull(text, file, true); // only a map with a key that is not a string is read again
}

function checkControl(text: string, file: string): void {
  const control = CONTROL.exec(text);
  if (control !== null) {
    const pos = lineCol(text, control.index);
    throw new YamlSyntaxError(
      file,
      pos.line,
      pos.col,
      'control characters are not allowed',
      'yaml: control characters are not allowed',
    );
  }
}

/** Characters libyaml's reader refuses anywhere in the input. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]/;

const LEADING_DOCUMENT_END = /^(?:[ ]*(?:#[^\n]*)?\n)*\.\.\.(?=[ \n]|$)/;

/** The full reader: the `yaml` package's syntax tree, typed as yaml.v2 types it. */
export function parseFull(text: string, file: string, namedRootKeys = false): YamlValue {
  const leadingEnd = LEADING_DOCUMENT_END.exec(text);
  if (leadingEnd !== null) {
    // libyaml wants a node before a document end marker; the `yaml` package reads null.
    const at = leadingEnd[0].length - 3;
    const pos = lineCol(text, at);
    const problem = 'did not find expected node content';
    throw new YamlSyntaxError(file, pos.line, pos.col, problem, yamlV2Message('parser', text, at, problem));
  }
  const { Parser, Composer } = yamlLib();
  const parser = new Parser();
  const composer = new Composer({ schema: 'failsafe', uniqueKeys: false, merge: false, version: '1.1' });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(parser.parse(text), true, text.length)) {
    doc = d;
    break;
  }
  if (doc === undefined) return null;
  // Escapes are libyaml's, not YAML 1.2's (`\'` is fine, `\/` is not): the Reader decodes
  // double-quoted scalars itself and reports their problems.
  const err = doc.errors.find((e) => e.code !== 'BAD_DQ_ESCAPE');
  if (err !== undefined) {
    const pos = err.linePos?.[0] ?? lineCol(text, err.pos[0]);
    const problem = problemOf(err.message);
    throw new YamlSyntaxError(
      file,
      pos.line,
      pos.col,
      problem,
      translateParseError(err.code, problem, err.pos[0], text),
    );
  }
  if (doc.contents === null) return null;
  return new Reader(text, file, namedRootKeys).read(doc.contents as YNode);
}

/** Writes a value as bosh-cli's yaml.Marshal does (what `bosh int` prints). */
export function stringifyYaml(value: YamlValue): string {
  return emitYaml(value);
}

function problemOf(message: string): string {
  const at = message.search(/ at line \d+, column \d+/);
  return (at >= 0 ? message.slice(0, at) : message).replace(/\s*\n\s*/g, ' ').trim();
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** A plain scalar with no text, no tag and no anchor: what the `yaml` package makes of a missing key. */
function isEmptyPlain(node: YNode): boolean {
  return (
    isScalar(node) &&
    node.range !== undefined &&
    node.range !== null &&
    node.range[0] === node.range[1] &&
    node.tag === undefined &&
    !node.anchor
  );
}

/** yaml.v2's guard against alias bombs (decode.go allowedAliasRatio). */
function allowedAliasRatio(decodeCount: number): number {
  const low = 400_000;
  const high = 4_000_000;
  if (decodeCount <= low) return 0.99;
  if (decodeCount >= high) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - low) / (high - low));
}

/** Turns the syntax tree into YamlValues, as yaml.v2's decoder does into interface{}. */
class Reader {
  /** Each alias's node, bound in document order as libyaml's parser binds them. */
  private readonly targets = new Map<YNode, YNode>();
  private readonly expanding = new Set<YNode>();
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
    /** The root map's keys as written (yaml.v2 into map[string]interface{}), not typed. */
    private readonly namedRootKeys = false,
  ) {}

  private root: YNode | undefined;

  read(root: YNode): YamlValue {
    this.root = root;
    this.bind(root, new Map());
    this.decodeCount++; // the document node
    return this.node(root);
  }

  /** Binds every alias to the last node anchored with its name before it. */
  private bind(node: YNode | null, anchors: Map<string, YNode>): void {
    if (node === null) return;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) this.fail(node, `unknown anchor '${node.source}' referenced`);
      this.targets.set(node, target);
      return;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    if (isSeq(node)) for (const item of node.items) this.bind(item as YNode, anchors);
    if (isMap(node)) {
      for (const pair of node.items) {
        this.bind(pair.key as YNode | null, anchors);
        this.bind(pair.value as YNode | null, anchors);
      }
    }
  }

  private node(node: YNode): YamlValue {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (
      this.aliasCount > 100 &&
      this.decodeCount > 1000 &&
      this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)
    ) {
      this.fail(node, 'document contains excessive aliasing');
    }
    if (isAlias(node)) return this.alias(node);
    if (isScalar(node)) return this.scalar(node);
    if (isSeq(node)) return node.items.map((item) => this.node(item as YNode));
    if (isMap(node)) {
      const out: YamlMap = new Map();
      this.mapping(node, out);
      return out;
    }
    return null;
  }

  private alias(at: YNode & { source: string }): YamlValue {
    const target = this.targets.get(at) as YNode;
    if (this.expanding.has(at)) this.fail(at, `anchor '${at.source}' value contains itself`);
    this.expanding.add(at);
    this.aliasDepth++;
    try {
      return this.node(target);
    } finally {
      this.aliasDepth--;
      this.expanding.delete(at);
    }
  }

  private scalar(node: YNode & { type?: string; value: unknown }): YamlValue {
    let text = String(node.value ?? '');
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') text = this.blockAtEnd(node, text);
    if (node.type === 'QUOTE_DOUBLE') text = this.doubleQuoted(node, text);
    const tag = node.tag;
    try {
      if (tag !== undefined && tag !== '!') return resolveTagged(tag, text);
      if (node.type === 'PLAIN' && tag === undefined) return resolvePlain(text).value;
      return text;
    } catch (e) {
      this.fail(node, (e as Error).message);
    }
  }

  /** A double-quoted scalar with escapes, decoded with libyaml's escapes rather than YAML 1.2's. */
  private doubleQuoted(node: YNode, text: string): string {
    const [start, end] = node.range ?? [0, 0];
    const source = this.text.slice(start, end);
    if (!source.includes('\\')) return text;
    try {
      return decodeDoubleQuoted(source);
    } catch (e) {
      if (!(e instanceof DoubleQuotedError)) throw e;
      const pos = lineCol(this.text, start + e.offset);
      throw new YamlSyntaxError(
        this.file,
        pos.line,
        pos.col,
        e.message,
        yamlV2Message('scanner', this.text, start + e.offset, e.message),
      );
    }
  }

  /**
   * A block scalar whose last line ends the file without a line break has no final line break
   * in libyaml (so in yaml.v2); the `yaml` package adds one.
   */
  private blockAtEnd(node: YNode, text: string): string {
    const end = node.range?.[1] ?? 0;
    if (end < this.text.length || /[\n\r]$/.test(this.text) || !text.endsWith('\n')) return text;
    return text.slice(0, -1);
  }

  /**
   * A key decoded into a Go string: a plain scalar keeps its text (`n`, `3`, `0x10`), except
   * that null (`~`, `null`, empty) is the empty string; quoted ones their value.
   */
  private nameKey(keyNode: YNode): YamlValue {
    const value = this.node(keyNode);
    if (!isScalar(keyNode) || keyNode.tag !== undefined || typeof value === 'string') return value;
    if (value === null) return '';
    return String((keyNode as { value: unknown }).value ?? '');
  }

  /** Adds a mapping's pairs to `out` in order; a merge key adds the merged maps' pairs. */
  private mapping(node: YNode, out: YamlMap): void {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const keyNode = pair.key as YNode | null;
      const valueNode = pair.value as YNode | null;
      if (keyNode !== null && this.isMergeKey(keyNode)) {
        this.merge(valueNode, out, keyNode);
        continue;
      }
      if (valueNode !== null && (keyNode === null || isEmptyPlain(keyNode)))
        this.checkEmptyKey(node.flow === true, valueNode);
      const key =
        keyNode === null ? null : this.namedRootKeys && node === this.root ? this.nameKey(keyNode) : this.node(keyNode);
      if (key instanceof Map || Array.isArray(key)) this.fail(keyNode as YNode, `invalid map key: ${goSyntax(key)}`);
      out.set(key as YamlKey, valueNode === null ? null : this.node(valueNode));
    }
  }

  /**
   * A value with no key: libyaml accepts that only after an explicit `?`. The `yaml` package
   * also reads `a: [x]: y` and `: y` as a pair with no key, where yaml.v2 fails.
   */
  private checkEmptyKey(flow: boolean, valueNode: YNode): void {
    const t = this.text;
    let i = (valueNode.range?.[0] ?? 0) - 1;
    while (i >= 0 && t[i] === ' ') i--;
    if (t[i] !== ':') return; // not a `: value` form; leave it to the parser
    const v2 = (stage: 'scanner' | 'parser', problem: string): [string, string] => [
      problem,
      yamlV2Message(stage, t, i, problem),
    ];
    if (flow) this.fail(valueNode, ...v2('parser', 'did not find expected node content'));
    let j = i - 1;
    while (j >= 0 && t[j] === ' ') j--;
    if (j >= 0 && t[j] !== '\n')
      this.fail(valueNode, ...v2('scanner', 'mapping values are not allowed in this context'));
    // The line holds only `: value`: fine after a `?` line, else there is no key.
    const before = t
      .slice(0, Math.max(j, 0))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const previous = before[before.length - 1] ?? '';
    if (!(previous === '?' || previous.startsWith('? ')))
      this.fail(valueNode, ...v2('parser', 'did not find expected key'));
  }

  private isMergeKey(node: YNode): boolean {
    if (!isScalar(node) || node.value !== '<<') return false;
    return node.tag === MERGE_TAG || (node.tag === undefined && node.type === 'PLAIN');
  }

  /** A `<<` key: merges a map, an alias of one, or a sequence of them (earlier ones win). */
  private merge(node: YNode | null, out: YamlMap, at: YNode): void {
    const wantMap = 'map merge requires map or sequence of maps as the value';
    if (node === null) this.fail(at, wantMap);
    const isMapNode = (n: YNode): boolean => isMap(isAlias(n) ? (this.targets.get(n) as YNode) : n);
    const addFrom = (n: YNode): void => {
      if (!isMapNode(n)) this.fail(n, wantMap);
      for (const [k, v] of this.node(n) as YamlMap) out.set(k, v);
    };
    if (isSeq(node)) {
      const items = node.items as YNode[];
      for (let i = items.length - 1; i >= 0; i--) addFrom(items[i] as YNode);
    } else {
      addFrom(node);
    }
  }

  /** Fails at `node`; by default the problem is one yaml.v2 finds while decoding (no line). */
  private fail(node: YNode, problem: string, v2 = `yaml: ${problem}`): never {
    const pos = lineCol(this.text, node.range?.[0] ?? 0);
    throw new YamlSyntaxError(this.file, pos.line, pos.col, problem, v2);
  }
}
