import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { formatErrorChain } from '../../../../src/errors.js';
import { opsFromDefinitions, Ops } from '../../../../src/manifest/patch/index.js';
import { clone } from '../../../../src/manifest/value.js';
import type { YamlValue } from '../../../../src/manifest/value.js';

const y = (text: string): YamlValue => YAML.parse(text, { version: '1.1', mapAsMap: true }) as YamlValue;

const manifest = `
releases:
- name: capi
  version: 0.1
instance_groups:
- name: foo
- name: cloud_controller
  instances: 0
  jobs:
  - name: cloud_controller
    release: capi
- name: uaa
  instances: 0
`;

const scaling = `
- type: replace
  path: /instance_groups/name=cloud_controller/instances
  value: 1
- type: replace
  path: /instance_groups/name=cloud_controller/jobs/name=cloud_controller/consumes?/db
  value:
    instances: [{address: some-db.local}]
    properties: {username: user, password: pass}
- type: test
  path: /instance_groups/name=uaa/instances-not
  absent: true
- type: test
  path: /instance_groups/name=uaa/instances
  value: 0
- type: replace
  path: /instance_groups/name=uaa/instances
  value: 1
- type: replace
  path: /instance_groups/-
  value: {name: uaadb, instances: 2}
- type: test
  path: /instance_groups/3
  value: {name: uaadb, instances: 2}
- type: replace
  path: /instance_groups/name=cloud_controller:before
  value: {name: cc-before, instances: 2}
- type: replace
  path: /instance_groups/name=cloud_controller:after
  value: {name: cc-after, instances: 1}
- type: replace
  path: /instance_groups/name=uaadb:after
  value: {name: uaadb-after, instances: 1}
- type: replace
  path: /instance_groups/name=uaadb:next/instances
  value: 4
`;

const releases = `
- type: replace
  path: /releases/name=capi/version
  value: latest
`;

describe('ops-files, one after the other', () => {
  it('apply like bosh int -o scaling.yml -o releases.yml', () => {
    const doc = y(manifest);
    const before = clone(doc);
    const ops = new Ops([
      opsFromDefinitions(y(scaling), 'scaling.yml'),
      opsFromDefinitions(y(releases), 'releases.yml'),
    ]);
    assert.deepEqual(
      ops.apply(doc),
      y(`
releases:
- name: capi
  version: latest
instance_groups:
- name: foo
- name: cc-before
  instances: 2
- name: cloud_controller
  instances: 1
  jobs:
  - name: cloud_controller
    release: capi
    consumes:
      db:
        instances: [{address: some-db.local}]
        properties: {username: user, password: pass}
- name: cc-after
  instances: 1
- name: uaa
  instances: 1
- name: uaadb
  instances: 2
- name: uaadb-after
  instances: 4
`),
    );
    assert.deepEqual(doc, before);
  });

  it('stop at the first failing op and name its file', () => {
    const ops = new Ops([
      opsFromDefinitions(y(releases), 'releases.yml'),
      opsFromDefinitions(y(releases), 'again.yml'),
    ]);
    assert.deepEqual(
      (ops.apply(y(manifest)) as Map<string, YamlValue>).get('releases'),
      y('[{name: capi, version: latest}]'),
    );
    const broken = new Ops([
      opsFromDefinitions(y(releases), 'releases.yml'),
      opsFromDefinitions(
        y('- {type: remove, path: /releases/name=capi}\n- {type: remove, path: /releases/name=capi}'),
        'twice.yml',
      ),
    ]);
    assert.throws(
      () => broken.apply(y(manifest)),
      (err: unknown) =>
        formatErrorChain(err) ===
        "Applying ops-file 'twice.yml': Error 'operation [1] in twice.yml failed': " +
          "Expected to find exactly one matching array item for path '/releases/name=capi' but found 0",
    );
  });
});
