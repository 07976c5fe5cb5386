import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ClientSecretCredential } from '@azure/identity';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest } from '../../fakes/arm/raw-client.js';

// The wire contract below the SDK: auth, api-version checks, ARM's error shape, the async
// operation resources and their headers, and the request log.

describe('fake ARM on the wire', () => {
  let fake: FakeArm;
  let token = '';
  const sub = () => `/subscriptions/${fake.subscriptionId}`;

  before(async () => {
    fake = await startFakeArm({ lro: { pollsBeforeDone: 1, retryAfterSeconds: 3 } });
    token = await fakeArmToken(fake);
    const r = await rawRequest(fake, 'PUT', `${sub()}/resourcegroups/wire?api-version=2025-04-01`, {
      token,
      body: { location: 'westus' },
    });
    assert.equal(r.status, 201);
  });
  after(async () => {
    await fake.stop();
  });

  it('refuses requests without a valid bearer token, in ARM’s shape', async () => {
    const none = await rawRequest(fake, 'GET', `${sub()}/resourcegroups/wire?api-version=2025-04-01`);
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, {
      error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." },
    });
    assert.match(
      String(none.headers['www-authenticate']),
      /^Bearer authorization_uri="https:\/\/127\.0\.0\.1:\d+\/[-0-9a-f]+", error="invalid_token"/,
    );
    const forged = await rawRequest(fake, 'GET', `${sub()}/resourcegroups/wire?api-version=2025-04-01`, {
      token: token.slice(0, -4) + 'AAAA',
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error.code, 'InvalidAuthenticationToken');
  });

  it('ClientSecretCredential with a wrong secret gets no token', async () => {
    const bad = new ClientSecretCredential(fake.tenantId, fake.clientId, 'not-the-secret', {
      authorityHost: fake.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: fake.caPem },
    });
    await assert.rejects(bad.getToken('https://management.azure.com/.default'), /AADSTS7000215/);
  });

  it('checks api-version like ARM', async () => {
    const missing = await rawRequest(fake, 'GET', `${sub()}/resourcegroups/wire`, { token });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'MissingApiVersionParameter');
    const wrong = await rawRequest(
      fake,
      'GET',
      `${sub()}/resourceGroups/wire/providers/Microsoft.Compute/disks/d?api-version=2025-05-01`,
      { token },
    );
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'InvalidApiVersionParameter');
    assert.match(
      wrong.body.error.message,
      /^The api-version '2025-05-01' is invalid\. The supported versions are '2025-01-02,/,
    );
  });

  it('answers 404 with ResourceGroupNotFound / ResourceNotFound / SubscriptionNotFound', async () => {
    const noGroup = await rawRequest(
      fake,
      'GET',
      `${sub()}/resourceGroups/nope/providers/Microsoft.Network/virtualNetworks/v?api-version=2025-05-01`,
      { token },
    );
    assert.deepEqual(
      [noGroup.status, noGroup.body],
      [404, { error: { code: 'ResourceGroupNotFound', message: "Resource group 'nope' could not be found." } }],
    );
    const noVnet = await rawRequest(
      fake,
      'GET',
      `${sub()}/resourceGroups/wire/providers/Microsoft.Network/virtualNetworks/v?api-version=2025-05-01`,
      { token },
    );
    assert.equal(noVnet.status, 404);
    assert.deepEqual(noVnet.body, {
      error: {
        code: 'ResourceNotFound',
        message:
          "The Resource 'Microsoft.Network/virtualNetworks/v' under resource group 'wire' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
      },
    });
    const noSub = await rawRequest(
      fake,
      'GET',
      `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/wire?api-version=2025-04-01`,
      { token },
    );
    assert.equal(noSub.body.error.code, 'SubscriptionNotFound');
    const gone = await rawRequest(
      fake,
      'DELETE',
      `${sub()}/resourceGroups/wire/providers/Microsoft.Network/virtualNetworks/v?api-version=2025-05-01`,
      { token },
    );
    assert.equal(gone.status, 204, 'deleting what is not there is a no-op');
  });

  it('runs a Network PUT as ARM does: 201, Azure-AsyncOperation, InProgress with Retry-After, then Succeeded', async () => {
    const path = `${sub()}/resourceGroups/wire/providers/Microsoft.Network/virtualNetworks/v?api-version=2025-05-01`;
    const put = await rawRequest(fake, 'PUT', path, {
      token,
      body: { location: 'westus', properties: { addressSpace: { addressPrefixes: ['10.9.0.0/16'] } } },
    });
    assert.equal(put.status, 201);
    assert.equal(put.body.properties.provisioningState, 'Updating');
    assert.equal(put.headers['retry-after'], '3');
    const op = String(put.headers['azure-asyncoperation']);
    assert.match(
      op,
      new RegExp(
        `^${fake.endpoint}/subscriptions/${fake.subscriptionId}/providers/Microsoft\\.Network/locations/westus/operations/[-0-9a-f]{36}\\?api-version=2025-05-01$`,
      ),
    );
    const first = await rawRequest(fake, 'GET', op, { token });
    assert.deepEqual([first.status, first.body, first.headers['retry-after']], [200, { status: 'InProgress' }, '3']);
    const second = await rawRequest(fake, 'GET', op, { token });
    assert.deepEqual([second.status, second.body], [200, { status: 'Succeeded' }]);
    const got = await rawRequest(fake, 'GET', path, { token });
    assert.equal(got.body.properties.provisioningState, 'Succeeded');
    assert.equal(got.body.etag, put.body.etag);
  });

  it('runs a Compute DELETE with Azure-AsyncOperation and a monitor Location (202 until done)', async () => {
    const disk = `${sub()}/resourceGroups/wire/providers/Microsoft.Compute/disks/d?api-version=2025-01-02`;
    const put = await rawRequest(fake, 'PUT', disk, {
      token,
      body: {
        location: 'westus',
        sku: { name: 'Standard_LRS' },
        properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 1 },
      },
    });
    assert.equal(put.status, 202);
    for (let i = 0; i < 2; i++) await rawRequest(fake, 'GET', String(put.headers['azure-asyncoperation']), { token });
    const del = await rawRequest(fake, 'DELETE', disk, { token });
    assert.equal(del.status, 202);
    const loc = String(del.headers['location']);
    assert.match(
      loc,
      /\/providers\/Microsoft\.Compute\/locations\/westus\/operations\/[-0-9a-f]{36}\?p=[-0-9a-f]{36}&monitor=true&api-version=2025-01-02$/,
    );
    const running = await rawRequest(fake, 'GET', loc, { token });
    assert.equal(running.status, 202);
    const status = await rawRequest(fake, 'GET', String(del.headers['azure-asyncoperation']), { token });
    assert.equal(status.body.status, 'Succeeded');
    assert.deepEqual(Object.keys(status.body).sort(), ['endTime', 'name', 'startTime', 'status']);
    const done = await rawRequest(fake, 'GET', loc, { token });
    assert.equal(done.status, 200);
    assert.equal((await rawRequest(fake, 'GET', disk, { token })).status, 404);
  });

  it('writes every request to the JSON-lines log and counts reads/writes per type', async () => {
    const lines = readFileSync(fake.requestLog.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, fake.requestLog.entries().length);
    const put = lines.find((l) => l['method'] === 'PUT' && String(l['path']).endsWith('/virtualNetworks/v'))!;
    assert.deepEqual(Object.keys(put).sort(), [
      'apiVersion',
      'caller',
      'durationMs',
      'method',
      'path',
      'resourceType',
      'status',
      'time',
    ]);
    assert.equal(put['caller'], fake.clientId); // the token's oid: the service principal
    assert.equal(put['apiVersion'], '2025-05-01');
    assert.equal(put['status'], 201);
    const counters = fake.requestLog.counters();
    assert.deepEqual(counters['Microsoft.Network/virtualNetworks'], { reads: 3, writes: 2 });
    assert.ok(!readFileSync(fake.requestLog.path, 'utf8').includes(fake.clientSecret), 'no secret in the log');
  });
});
