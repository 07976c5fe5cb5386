import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSelector, parseInstanceSelector, selectInstances } from '../../../src/deploy/instance-selector.js';
import type { InstanceRecord } from '../../../src/state/index.js';

const U0 = '0a2411aa-a04d-4ea9-8de0-a417441bc03c';
const inst = (group: string, index: number, uuid: string) => ({ group, index, uuid }) as InstanceRecord;
const all = [
  inst('master', 0, U0),
  inst('master', 1, 'b7eb812c-adf7-42d5-85e2-bfe22143266a'),
  inst('worker', 0, '89a52d80-d29f-4436-b8b1-9593b8f6e20e'),
];

test('parses bosh-cli instance slugs: none, GROUP, GROUP/INDEX, GROUP/ID', () => {
  assert.deepEqual(parseInstanceSelector(undefined), { kind: 'all' });
  assert.deepEqual(parseInstanceSelector('master'), { kind: 'group', group: 'master' });
  assert.deepEqual(parseInstanceSelector('master/1'), { kind: 'index', group: 'master', index: 1 });
  assert.deepEqual(parseInstanceSelector(`master/${U0}`), { kind: 'uuid', group: 'master', uuid: U0 });
  assert.equal(formatSelector(parseInstanceSelector('worker/0')), 'worker/0');
});

test('a malformed slug is an error naming the accepted forms', () => {
  assert.throws(() => parseInstanceSelector('a/b/c'), {
    message: "Expected an instance group 'NAME', or an instance 'NAME/INDEX' or 'NAME/ID', found 'a/b/c'",
  });
  assert.throws(() => parseInstanceSelector('master/'), /found 'master\/'/);
});

test('selects by group, index and uuid; naming nothing that exists is an error listing the groups', () => {
  assert.deepEqual(
    selectInstances(all, parseInstanceSelector('master'), 'd').map((i) => i.index),
    [0, 1],
  );
  assert.deepEqual(
    selectInstances(all, parseInstanceSelector('master/1'), 'd').map((i) => i.uuid),
    ['b7eb812c-adf7-42d5-85e2-bfe22143266a'],
  );
  assert.deepEqual(
    selectInstances(all, parseInstanceSelector(`master/${U0}`), 'd').map((i) => i.index),
    [0],
  );
  assert.equal(selectInstances(all, parseInstanceSelector(undefined), 'd').length, 3);
  assert.throws(() => selectInstances(all, parseInstanceSelector('worker/3'), 'my-cluster'), {
    message: "No instance 'worker/3' in deployment 'my-cluster' (groups: master, worker)",
  });
  assert.throws(
    () => selectInstances(all, parseInstanceSelector(`worker/${U0}`), 'my-cluster'),
    /No instance 'worker\/0a2411aa/,
  );
});
