import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/director-process.js';
import { parseYaml } from '../../../src/manifest/yaml.js';
import { needsReference, referenceDir } from '../../helpers/reference.js';

/**
 * `director int` against bosh-cli's own answers: every case in test/fixtures/bosh-int was
 * recorded by running bosh-cli's interpolate code (see its README). Successful runs must match
 * byte for byte; failing ones must fail with bosh-cli's message (the deepest part of it, since
 * the director prints one line: "Error: <what it was doing>: <bosh-cli's message>").
 */
interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly stdout: string | null;
  readonly exitCode: number;
  readonly stderr: string | null;
  readonly generated: Record<string, string[]> | null;
}

const fixtures = join(repoRoot, 'test', 'fixtures', 'bosh-int');
const cases: Case[] = JSON.parse(await readFile(join(fixtures, 'cases.json'), 'utf8'));

/**
 * Where the director deliberately answers differently from bosh-cli, and what it does instead.
 * Each entry is checked, so none of them can hide a regression.
 */
const DIFFERENT: Record<string, { why: string; check: (r: { code: number; stdout: string; stderr: string }) => void }> =
  {
    'patch-percent-in-error': {
      why: 'bosh-cli uses the error as a printf pattern (%d becomes %!d(MISSING)); the director prints the path as it is',
      check: (r) => {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Expected to find a map key '100%d' for path '\/tags\/100%d'/);
      },
    },
    'kubo-cfcr-vars-store': {
      why: "bosh-cli refuses CredHub's key_usage option that kubo's cfcr.yml uses; the director generates it",
      check: (r) => assert.equal(r.code, 0, r.stderr),
    },
    'vars-nonstring-in-string': {
      why: 'the value may be a secret: the director leaves it out of the message',
      check: invalidTypeWithoutValue('map[interface {}]interface {}', 'm'),
    },
    'vars-list-in-string': { why: 'as above', check: invalidTypeWithoutValue('[]interface {}', 'm') },
    'vars-bool-in-string': { why: 'as above', check: invalidTypeWithoutValue('bool', 'm') },
    'vars-float-in-string': { why: 'as above', check: invalidTypeWithoutValue('float64', 'm') },
    'vars-null-in-string': { why: 'as above', check: invalidTypeWithoutValue('<nil>', 'm') },
    'a09-cloud-config-empty-var-nil': { why: 'as above', check: invalidTypeWithoutValue('<nil>', 'internal_gw') },
    'patch-error-field-overridden': {
      why: "bosh-cli overwrites an op's own `error:` text; the director keeps it beside bosh-cli's",
      check: (r) =>
        assert.match(
          r.stderr,
          /Error 'operation \[0\] in \S+error-field\.yml failed': Error 'my custom error message': Expected to find a map key 'nope' for path '\/nope'/,
        ),
    },
    ...Object.fromEntries(
      [
        'malformed-indent',
        'malformed-unclosed-quote',
        'malformed-tab',
        'malformed-flow',
        'patch-ops-malformed',
        'complex-key-fails',
      ].map((n) => [
        n,
        {
          why: "libyaml names a line; the director names the file, line and column (in its parser's words)",
          check: yamlError,
        },
      ]),
    ),
    ...Object.fromEntries(
      ['vars-v-invalid-yaml', 'vars-v-unbalanced-quote', 'vars-v-leading-colon', 'malformed-vars-file'].map((n) => [
        n,
        { why: 'as above, for -v values and vars files', check: yamlError },
      ]),
    ),
    ...Object.fromEntries(
      ['manifest-not-found', 'ops-file-not-found', 'vars-file-not-found'].map((n) => [
        n,
        {
          why: "Go's open error text; the director says which file and that it does not exist",
          check: (r: Run) => (
            assert.equal(r.code, 1),
            assert.match(r.stderr, /'[^']*does-not-exist\.yml'.*no such file/)
          ),
        },
      ]),
    ),
    ...Object.fromEntries(
      ['cli-no-manifest', 'cli-unknown-flag', 'cli-extra-arg', 'cli-ops-flag-no-value'].map((n) => [
        n,
        {
          why: "go-flags' usage messages; the director's come from commander",
          check: (r: Run) => (
            assert.notEqual(r.code, 0),
            assert.match(
              r.stderr,
              /^error: (missing required argument 'path'|unknown option '--nope'|too many arguments|option '-o, --ops-file <path>' argument missing)/,
            )
          ),
        },
      ]),
    ),
    ...Object.fromEntries(
      ['vars-file-is-list', 'a09-ops-file-as-vars-file'].map((n) => [
        n,
        {
          why: "yaml.v2's unmarshal error names a Go type; the director says what it expected",
          check: (r: Run) => (
            assert.equal(r.code, 1),
            assert.match(r.stderr, /Deserializing variables file '[^']+': expected a map, found '\[\]interface \{\}'/)
          ),
        },
      ]),
    ),
    ...Object.fromEntries(
      ['a09-arm-template-variables-map-fails', 'a09-customdata-json-fails'].map((n) => [
        n,
        {
          why: 'as above, for the variables section',
          check: (r: Run) => (
            assert.equal(r.code, 1),
            assert.match(r.stderr, /Expected 'variables' to be a list, found 'map\[interface \{\}\]interface \{\}'/)
          ),
        },
      ]),
    ),
  };

type Run = { code: number; stdout: string; stderr: string };

function yamlError(r: Run): void {
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /Parsing YAML file '[^']+': line \d+, column \d+: \S/);
}

function invalidTypeWithoutValue(type: string, name: string) {
  return (r: { code: number; stderr: string }) => {
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(
        `Invalid type '${type}' for variable '${name}'. Supported types for interpolation within a string are integers and strings.`,
      ),
      r.stderr,
    );
  };
}

/** bosh-cli's error, reduced to what the director must say too. */
function essence(stderr: string): string[] {
  let text = stderr.replace(/\nExit code 1\n$/, '');
  text = text.replace(/^invalid argument for flag `[^']*' \(expected [^)]*\): /, '');
  text = text.replace(/^Building ops: /, '');
  // yaml.v2's unmarshal errors carry a line number the document model no longer has.
  text = text.replace(/yaml: unmarshal errors:\n\s+line \d+: /, 'yaml: unmarshal errors: ');
  // "- Expected to find variables:\n    - a\n    - b" → "Expected to find variables: a, b"
  const lists = [...text.matchAll(/- (Expected to (?:find|use) variables):\n((?: {4}- .*\n?)+)/g)];
  if (lists.length)
    return lists.map(
      (m) =>
        `${m[1]}: ${m[2]!
          .trim()
          .split('\n')
          .map((l) => l.replace(/^\s*- /, ''))
          .join(', ')}`,
    );
  // Nested causes are indented on new lines; the deepest is the message itself.
  const parts = text.split(/:\n\s+/);
  return [parts[parts.length - 1]!.split('\n')[0]!];
}

// Cases that read the reference corpus (kubo, cf-deployment, bosh-deployment) need it beside the clone.
const usesReference = (c: Case) =>
  c.args.some((a) => a.includes('../shared/reference')) ||
  Object.values(c.env ?? {}).some((v) => v.includes('../shared/reference'));
const referenceSkip = cases.some(usesReference) ? needsReference() : false;

for (const c of cases) {
  test(`bosh int oracle: ${c.name}`, { skip: usesReference(c) ? referenceSkip : false }, async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'oracle-'));
    try {
      const args = c.args.map((a) =>
        a.replaceAll('{{TMPDIR}}', tmp).replaceAll('../shared/reference', relative(repoRoot, referenceDir)),
      );
      const r = await runCli(args, { cwd: repoRoot, env: { HOME: tmp, ...(c.env ?? {}) } });
      const different = DIFFERENT[c.name];
      if (different) {
        different.check(r);
      } else if (c.exitCode === 0) {
        assert.equal(r.code, 0, r.stderr);
        if (c.stdout !== null) assert.equal(r.stdout, await readFile(join(fixtures, c.stdout), 'utf8'));
      } else {
        assert.equal(r.code, 1, `expected failure; stdout: ${r.stdout.slice(0, 200)}`);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
        for (const e of essence(c.stderr!))
          assert.ok(r.stderr.includes(e), `expected ${JSON.stringify(e)} in ${JSON.stringify(r.stderr)}`);
      }
      if (c.generated) {
        const store = args[args.indexOf('--vars-store') + 1]!;
        assert.equal((await stat(store)).mode & 0o777, 0o600);
        const doc = parseYaml(await readFile(store, 'utf8'), store) as Map<string, unknown>;
        for (const [name, keys] of Object.entries(c.generated)) {
          const v = doc.get(name);
          assert.ok(v !== undefined, `variable '${name}' generated`);
          assert.deepEqual(v instanceof Map ? [...v.keys()].sort() : [], keys, name);
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}
