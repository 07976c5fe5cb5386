import https from 'node:https';
import type { FakeArm } from './fake-arm.js';

/** A raw HTTPS answer from the fake. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** Sends one HTTPS request to the fake (trusting its CA), JSON in and out. */
export function rawRequest(
  fake: FakeArm,
  method: string,
  pathOrUrl: string,
  options: { body?: unknown; token?: string; form?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(pathOrUrl, fake.endpoint);
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (options.form) {
      payload = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    const req = https.request(url, { method, ca: fake.caPem, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A bearer token from the fake's token endpoint (client-credentials flow). */
export async function fakeArmToken(fake: FakeArm): Promise<string> {
  const r = await rawRequest(fake, 'POST', `/${fake.tenantId}/oauth2/v2.0/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      scope: 'https://management.azure.com/.default',
    },
  });
  if (r.status !== 200) throw new Error(`token endpoint answered ${r.status}`);
  return String(r.body.access_token);
}
