import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFull, parseYaml, stringifyYaml } from '../../../src/manifest/yaml.js';
import { UNSUPPORTED, parseFast } from '../../../src/manifest/yaml-fast.js';
import { deepEqual } from '../../../src/manifest/value.js';
import type { YamlValue } from '../../../src/manifest/value.js';
import { needsReference, referenceDir, referencePresent } from '../../helpers/reference.js';

// The repository root, from src/ (tsx) or from dist/ (the built suite) alike.
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const REFERENCE = referenceDir;
const FIXTURES = join(ROOT, 'test/fixtures/bosh-int');

function referenceFiles(): string[] {
  const out: string[] = [];
  if (!referencePresent) return out;
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.yml') || f === 'spec') out.push(p);
    }
  };
  walk(REFERENCE);
  return out;
}

interface IntCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly stdout: string | null;
  readonly exitCode: number;
}

describe('bosh int without ops-files or variables: what bosh-cli printed, byte for byte', () => {
  const cases = (JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as IntCase[]).filter(
    (c) => c.args.length === 2 && c.args[0] === 'int' && c.exitCode === 0 && c.stdout !== null,
  );
  it('has the plain `int FILE` cases to compare with', () => {
    assert.ok(cases.length >= 10, `only ${cases.length} cases`);
  });
  for (const c of cases) {
    const fromReference = (c.args[1] as string).startsWith('../shared/reference/');
    it(`${c.name} (${c.args[1]})`, { skip: fromReference ? needsReference() : false }, () => {
      const file = fromReference
        ? join(REFERENCE, (c.args[1] as string).slice('../shared/reference/'.length))
        : resolve(ROOT, c.args[1] as string);
      const want = readFileSync(join(FIXTURES, c.stdout as string), 'utf8');
      const value = parseYaml(readFileSync(file, 'utf8'), file);
      assert.equal(stringifyYaml(value), want);
    });
  }
});

describe('every YAML file of the reference corpus', { skip: needsReference() }, () => {
  const files = referenceFiles();

  it('finds the corpus (about 200 files)', () => {
    assert.ok(files.length > 150, `only ${files.length} files under ${REFERENCE}`);
  });

  for (const file of files) {
    const name = file.slice(REFERENCE.length + 1);
    it(`${name}: parses, the fast and full readers agree, and it round-trips`, () => {
      const text = readFileSync(file, 'utf8');
      const value = parseYaml(text, name);
      const fast = parseFast(text);
      assert.notEqual(fast, UNSUPPORTED, 'the fast reader handles every reference file');
      assert.ok(deepEqual(fast as YamlValue, parseFull(text, name)), 'fast and full readers differ');
      const printed = stringifyYaml(value);
      assert.ok(deepEqual(parseYaml(printed, name), value), 'printed YAML reads back differently');
      assert.equal(stringifyYaml(parseYaml(printed, name)), printed);
    });
  }

  it('reads bosh-deployment/azure/cloud-config.yml `disk_size: 50_000` as 50000', () => {
    const v = parseYaml(
      readFileSync(join(REFERENCE, 'bosh-deployment/azure/cloud-config.yml'), 'utf8'),
      'cloud-config.yml',
    );
    const diskTypes = (v as Map<string, YamlValue>).get('disk_types') as Map<string, YamlValue>[];
    assert.deepEqual(
      diskTypes.map((d) => [d.get('name'), d.get('disk_size')]),
      [
        ['default', 3000],
        ['large', 50000],
      ],
    );
  });

  it('reads the comment-only a09 project-secrets.yml as null', () => {
    const file = join(REFERENCE, 'a09-capf-kubo-deployment/configurations/generic/project-secrets.yml');
    assert.equal(parseYaml(readFileSync(file, 'utf8'), 'project-secrets.yml'), null);
  });
});
