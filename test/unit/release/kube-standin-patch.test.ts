// The stand-in API server's PATCH bodies (release/packages/kube-standin/src/patch.mjs), on the
// shapes kubectl sends: cordon/uncordon, apply's strategic merge of containers, JSON patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './repo-root.js';

type Json = Record<string, unknown>;
interface PatchModule {
  mergePatch(target: unknown, patch: unknown): Json;
  strategicMergePatch(original: unknown, patch: unknown): Json;
  jsonPatch(doc: unknown, ops: unknown): Json;
  PatchError: new (message: string) => Error;
}

const load = async (): Promise<PatchModule> =>
  (await import(pathToFileURL(join(repoRoot(), 'release/packages/kube-standin/src/patch.mjs')).href)) as PatchModule;

test('strategic merge: cordon and uncordon as kubectl sends them', async () => {
  const { strategicMergePatch } = await load();
  const node = { metadata: { name: 'n' }, spec: { podCIDR: '10.0.0.0/24' } };
  const cordoned = strategicMergePatch(node, { spec: { unschedulable: true } });
  assert.deepEqual(cordoned, { metadata: { name: 'n' }, spec: { podCIDR: '10.0.0.0/24', unschedulable: true } });
  assert.deepEqual(strategicMergePatch(cordoned, { spec: { unschedulable: null } }), node);
});

test('strategic merge: containers merge by name, env by name, $patch delete removes, ports by containerPort', async () => {
  const { strategicMergePatch } = await load();
  const spec = {
    containers: [
      { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80 }] },
      { name: 'b', image: 'b:1' },
    ],
  };
  const out = strategicMergePatch(spec, {
    '$setElementOrder/containers': [{ name: 'a' }, { name: 'c' }],
    containers: [
      { name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 443 }] },
      { name: 'b', $patch: 'delete' },
      { name: 'c', image: 'c:1' },
    ],
  });
  assert.deepEqual(out, {
    containers: [
      {
        name: 'a',
        image: 'a:2',
        env: [
          { name: 'X', value: '1' },
          { name: 'Y', value: '2' },
        ],
        ports: [{ containerPort: 80 }, { containerPort: 443 }],
      },
      { name: 'c', image: 'c:1' },
    ],
  });
  // a list without a merge key is replaced; $retainKeys drops what it does not name
  assert.deepEqual(strategicMergePatch({ args: ['a', 'b'] }, { args: ['c'] }), { args: ['c'] });
  assert.deepEqual(
    strategicMergePatch(
      { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
      { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    ),
    { strategy: { type: 'Recreate' } },
  );
});

test('merge patch (RFC 7386) and JSON patch (RFC 6902)', async () => {
  const { mergePatch, jsonPatch, PatchError } = await load();
  assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), {
    a: { c: 2, d: 3 },
    l: [3],
  });
  const doc = { metadata: { labels: { x: 'y' } }, data: { k: 'v' } };
  assert.deepEqual(
    jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/a~1b', value: 'c' },
      { op: 'replace', path: '/data/k', value: 'w' },
      { op: 'remove', path: '/metadata/labels/x' },
    ]),
    {
      metadata: { labels: { 'a/b': 'c' } },
      data: { k: 'w' },
    },
  );
  assert.deepEqual(doc, { metadata: { labels: { x: 'y' } }, data: { k: 'v' } }, 'the original is not changed');
  assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/data/k', value: 'nope' }]), PatchError);
  assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/data/missing' }]), /not found/);
});
