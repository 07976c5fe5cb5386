// The fake's managed identity endpoints answer what MSAL never sends wrong itself: a missing
// Metadata header, a missing api-version, an ambiguous or absent identity.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeArm } from '../../fakes/arm/fake-arm.js';
import type { FakeArm } from '../../fakes/arm/fake-arm.js';
import { rawRequest } from '../../fakes/arm/raw-client.js';

const IMDS = '/metadata/identity/oauth2/token';

async function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(new URL(path, base), { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('fake managed identity endpoints', () => {
  let fake: FakeArm;
  let userOnly: FakeArm;
  before(async () => {
    fake = await startFakeArm();
    userOnly = await startFakeArm({ managedIdentity: { systemAssigned: false, userAssigned: 2 } });
  });
  after(async () => {
    await fake?.stop();
    await userOnly?.stop();
  });

  it('IMDS: needs Metadata: true, api-version and resource; issues a token ARM accepts', async () => {
    const base = fake.managedIdentity.imdsHost;
    assert.deepEqual(await get(base, `${IMDS}?api-version=2018-02-01&resource=https://management.azure.com/`), {
      status: 400,
      body: { error: 'invalid_request', error_description: 'Required metadata header not specified' },
    });
    assert.equal((await get(base, `${IMDS}?resource=https://management.azure.com/`, { Metadata: 'true' })).status, 400);
    assert.equal((await get(base, `${IMDS}?api-version=2018-02-01`, { Metadata: 'true' })).status, 400);
    const ok = await get(base, `${IMDS}?api-version=2018-02-01&resource=https://management.azure.com/`, {
      Metadata: 'true',
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body['client_id'], fake.managedIdentity.systemAssigned!.clientId);
    assert.deepEqual(
      [ok.body['token_type'], ok.body['resource'], typeof ok.body['expires_on'], typeof ok.body['expires_in']],
      ['Bearer', 'https://management.azure.com/', 'string', 'string'],
    );
    const arm = await rawRequest(
      fake,
      'GET',
      `/subscriptions/${fake.subscriptionId}/resourcegroups?api-version=2021-04-01`,
      { token: String(ok.body['access_token']) },
    );
    assert.equal(arm.status, 200);
    assert.equal(fake.requestLog.entries().at(-1)!.caller, fake.managedIdentity.systemAssigned!.principalId);
  });

  it('IMDS without a system-assigned identity: a client id must choose among several', async () => {
    const base = userOnly.managedIdentity.imdsHost;
    const q = `${IMDS}?api-version=2018-02-01&resource=https://management.azure.com/`;
    assert.deepEqual(await get(base, q, { Metadata: 'true' }), {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
      },
    });
    const second = userOnly.managedIdentity.userAssigned[1]!;
    assert.equal(
      (await get(base, `${q}&client_id=${second.clientId}`, { Metadata: 'true' })).body['client_id'],
      second.clientId,
    );
    assert.equal(
      (await get(base, `${q}&object_id=${second.principalId}`, { Metadata: 'true' })).body['client_id'],
      second.clientId,
    );
    assert.deepEqual(
      (await get(base, `${q}&client_id=${fake.managedIdentity.userAssigned[0]!.clientId}`, { Metadata: 'true' })).body,
      { error: 'invalid_request', error_description: 'Identity not found' },
    );
  });

  it('App Service: refuses a missing or wrong X-IDENTITY-HEADER and another api-version, in its own error shape', async () => {
    const url = `${fake.managedIdentity.appServiceEndpoint}?api-version=2019-08-01&resource=https://management.azure.com`;
    for (const headers of [{}, { 'X-IDENTITY-HEADER': 'wrong' }] as Record<string, string>[]) {
      const r = await get(url, '', headers);
      assert.equal(r.status, 401);
      assert.deepEqual(
        [r.body['statusCode'], r.body['message'], typeof r.body['correlationId']],
        [401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.', 'string'],
      );
    }
    const good = { 'X-IDENTITY-HEADER': fake.managedIdentity.identityHeader };
    assert.equal((await get(url.replace('2019-08-01', '2017-09-01'), '', good)).status, 400);
    const ok = await get(url, '', good);
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.body).sort(), [
      'access_token',
      'client_id',
      'expires_on',
      'resource',
      'token_type',
    ]);
    assert.ok(Number(ok.body['expires_on']) > Date.now() / 1000);
    assert.ok(
      !JSON.stringify(fake.requestLog.entries()).includes(fake.managedIdentity.identityHeader),
      'the identity header was logged',
    );
  });
});
