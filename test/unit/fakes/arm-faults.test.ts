import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { Faults } from '../../fakes/arm/faults.js';
import { fakeArmToken, rawRequest } from '../../fakes/arm/raw-client.js';
import { fakeArmClients, type FakeArmClients } from '../../fakes/arm/sdk-clients.js';

const poll = { updateIntervalInMs: 5 };
const RG = 'faults-rg';

function adminRequest(
  fake: FakeArm,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, fake.endpoint);
    const req = https.request(
      url,
      { method, ca: fake.caPem, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function rawPut(fake: FakeArm, path: string, body: unknown): Promise<number> {
  const token = await fakeArmToken(fake);
  return (await rawRequest(fake, 'PUT', path, { token, body })).status;
}

describe('fake ARM fault injection', () => {
  let fake: FakeArm;
  let c: FakeArmClients;
  let vmCreates = 0;

  before(async () => {
    fake = await startFakeArm({
      faults: { throttleRetryAfterSeconds: 1 },
      hooks: { onVmCreated: () => void vmCreates++ },
    });
    c = fakeArmClients(fake);
    await c.resources.resourceGroups.createOrUpdate(RG, { location: 'westus' });
    await c.network.virtualNetworks.beginCreateOrUpdateAndWait(
      RG,
      'vnet',
      {
        location: 'westus',
        addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
        subnets: [{ name: 's', addressPrefix: '10.1.0.0/24' }],
      },
      poll,
    );
  });
  after(async () => {
    await fake.stop();
  });

  it('the same seed gives the same faults', () => {
    const run = () => {
      const f = new Faults({ seed: 7, throttleRate: 0.3, serverErrorRate: 0.2 });
      return Array.from({ length: 40 }, () => f.decide('GET', '/x'))
        .map((d) => (d.throttle ? 'T' : d.serverError ? String(d.serverError) : '.'))
        .join('');
    };
    const a = run();
    assert.equal(a, run());
    assert.match(a, /T/);
    assert.match(a, /50[03]/);
    assert.match(a, /\./);
  });

  it('answers 429 with Retry-After; the SDK waits and retries (counted in the request log)', async () => {
    fake.faults.enqueue({ kind: 'throttle', method: 'GET', pathIncludes: `/resourcegroups/${RG}`, count: 2 });
    const n = fake.requestLog.entries().length;
    const rg = await c.resources.resourceGroups.get(RG);
    assert.equal(rg.name, RG);
    const seen = fake.requestLog
      .entries()
      .slice(n)
      .map((e) => `${e.status}${e.fault ? ' ' + e.fault : ''}`);
    assert.deepEqual(seen, ['429 throttle', '429 throttle', '200']);
  });

  it('throttles by seeded rate; every 429 is retried until the request succeeds', async () => {
    fake.faults.set({ seed: 3, throttleRate: 0.4 });
    const n = fake.requestLog.entries().length;
    try {
      for (let i = 0; i < 4; i++) await c.network.virtualNetworks.get(RG, 'vnet');
    } finally {
      fake.faults.set({ throttleRate: 0 });
    }
    const seen = fake.requestLog.entries().slice(n);
    const throttled = seen.filter((e) => e.status === 429).length;
    assert.ok(throttled >= 1, 'seed 3 at 40% throttles at least once in the first draws');
    assert.equal(seen.filter((e) => e.status === 200).length, 4);
    assert.equal(seen.length, 4 + throttled);
  });

  it('answers 503 before any effect; the SDK retries the PUT', async () => {
    fake.faults.enqueue({
      kind: 'serverError',
      method: 'PUT',
      pathIncludes: 'networkSecurityGroups/nsg-f',
      status: 503,
    });
    const n = fake.requestLog.entries().length;
    const nsg = await c.network.networkSecurityGroups.beginCreateOrUpdateAndWait(
      RG,
      'nsg-f',
      { location: 'westus' },
      poll,
    );
    assert.equal(nsg.provisioningState, 'Succeeded');
    const puts = fake.requestLog
      .entries()
      .slice(n)
      .filter((e) => e.method === 'PUT')
      .map((e) => e.status);
    assert.deepEqual(puts, [503, 201]);
  });

  it('a failed async operation surfaces from the SDK poller with its code; the VM is left Failed', async () => {
    const nic = await c.network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'nic-f',
      {
        location: 'westus',
        ipConfigurations: [
          {
            name: 'ip',
            subnet: {
              id: `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s`,
            },
          },
        ],
      },
      poll,
    );
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: 'virtualMachines/vm-f' });
    fake.faults.set({
      asyncFailure: {
        code: 'AllocationFailed',
        message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.',
      },
    });
    await assert.rejects(
      c.compute.virtualMachines.createOrUpdate(
        RG,
        'vm-f',
        {
          location: 'westus',
          hardwareProfile: { vmSize: 'Standard_D2s_v3' },
          storageProfile: {
            imageReference: { publisher: 'Canonical', offer: 'o', sku: 's', version: 'latest' },
            osDisk: { createOption: 'FromImage' },
          },
          networkProfile: { networkInterfaces: [{ id: nic.id! }] },
        },
        poll,
      ),
      // core-lro reports a failed operation as a plain Error carrying "<code>. <message>", not a RestError.
      (e: unknown) =>
        e instanceof Error &&
        !(e instanceof RestError) &&
        e.message ===
          'The long-running operation has failed. AllocationFailed. Allocation failed. We do not have sufficient capacity for the requested VM size in this region.',
    );
    const vm = await c.compute.virtualMachines.get(RG, 'vm-f');
    assert.equal(vm.provisioningState, 'Failed');
    assert.equal(vmCreates, 0, 'the hook is not called for a create that fails');
  });

  it('a failed Location-polled operation surfaces as a RestError with the code', async () => {
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: 'storageAccounts/failstore' });
    await assert.rejects(
      c.storage.storageAccounts.create(
        RG,
        'failstore',
        { location: 'westus', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' },
        poll,
      ),
      (e: unknown) => e instanceof RestError && e.code === 'AllocationFailed' && e.statusCode === 400,
    );
  });

  it('a lost response: the write took effect, the SDK saw a 500 and its retry converges', async () => {
    fake.faults.enqueue({ kind: 'lostResponse', method: 'PUT', pathIncludes: 'disks/lost' });
    const n = fake.requestLog.entries().length;
    const disk = await c.compute.disks.createOrUpdate(
      RG,
      'lost',
      { location: 'westus', sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 3 },
      poll,
    );
    assert.equal(disk.provisioningState, 'Succeeded');
    const puts = fake.requestLog
      .entries()
      .slice(n)
      .filter((e) => e.method === 'PUT')
      .map((e) => `${e.status}${e.fault ? ' ' + e.fault : ''}`);
    assert.deepEqual(puts, ['500 lostResponse', '202']);
    assert.equal(fake.state.list('Microsoft.Compute/disks', RG).filter((d) => d.name === 'lost').length, 1);
  });

  it('with autoCompleteMs an operation nobody polls still completes', async () => {
    Object.assign(fake.lro, { autoCompleteMs: 1, pollsBeforeDone: 1000 });
    try {
      const nsg = fake.state.resourceId(RG, 'Microsoft.Network/networkSecurityGroups', 'nsg-auto');
      const put = await rawPut(fake, `${nsg}?api-version=2025-05-01`, { location: 'westus' });
      assert.equal(put, 201);
      let state = '';
      for (let i = 0; i < 500 && state !== 'Succeeded'; i++) {
        await new Promise((r) => setTimeout(r, 10));
        state = fake.state.get(nsg)?.body.properties.provisioningState;
      }
      assert.equal(state, 'Succeeded');
    } finally {
      Object.assign(fake.lro, { autoCompleteMs: 0, pollsBeforeDone: 1 });
    }
  });

  it('latency is injected and logged; faults change at runtime through the admin endpoint', async () => {
    const put = await adminRequest(fake, 'PUT', '/_fake/faults', { latencyRate: 1, latencyMs: 5 });
    assert.equal(put.status, 200);
    assert.equal((put.body as { latencyRate: number }).latencyRate, 1);
    await c.network.virtualNetworks.get(RG, 'vnet');
    await adminRequest(fake, 'POST', '/_fake/faults/clear');
    await c.network.virtualNetworks.get(RG, 'vnet');
    const last = fake.requestLog
      .entries()
      .filter((e) => e.resourceType === 'Microsoft.Network/virtualNetworks')
      .slice(-2);
    assert.deepEqual(
      last.map((e) => e.fault ?? 'none'),
      ['latency', 'none'],
    );
    const got = await adminRequest(fake, 'GET', '/_fake/faults');
    assert.equal((got.body as { latencyRate: number }).latencyRate, 0);
  });
});
