import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Authority } from './authority.js';
import type { RequestLog } from './request-log.js';

/** A managed identity the fake host has: the ids Entra ID gave it. */
export interface FakeIdentity {
  readonly clientId: string;
  /** The service principal's object id: the `oid` of its tokens, what ARM sees as the caller. */
  readonly principalId: string;
}

/** Which identities the host (the VM or app the director runs on) has. */
export interface ManagedIdentityOptions {
  /** Whether a system-assigned identity is enabled (default true). */
  readonly systemAssigned?: boolean;
  /** How many user-assigned identities are attached (default 1), each with fresh ids. */
  readonly userAssigned?: number;
}

/**
 * The endpoints through which an Azure host hands its managed identities' tokens out, on plain
 * HTTP as on Azure (the credential allows http for them):
 *
 * - App Service / Functions / Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`):
 *   `GET /msi/token?api-version=2019-08-01&resource=…[&client_id=…]` with `X-IDENTITY-HEADER`;
 *   answers `{access_token, expires_on, resource, token_type, client_id}`, errors as
 *   `{statusCode, message, correlationId}`.
 * - IMDS (`http://169.254.169.254`, or `AZURE_POD_IDENTITY_AUTHORITY_HOST` as AKS pod identity
 *   redirects it): `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…
 *   [&client_id=…]` with `Metadata: true`; answers the same plus `expires_in`, `not_before`,
 *   `ext_expires_in` (all strings), errors as OAuth `{error, error_description}`.
 *
 * Tokens are signed by the fake's authority, so ARM accepts them and logs their `oid` as caller.
 */
export class ManagedIdentityEndpoint {
  /** The system-assigned identity, when the host has one. */
  readonly systemAssigned: FakeIdentity | undefined;
  readonly userAssigned: readonly FakeIdentity[];
  /** What the platform puts in `IDENTITY_HEADER`: the App Service endpoint's shared secret. */
  readonly identityHeader = randomBytes(24).toString('base64url');
  private readonly server = http.createServer();
  private readonly sockets = new Set<Socket>();
  private base = '';

  constructor(
    private readonly authority: Authority,
    private readonly requestLog: RequestLog,
    options: ManagedIdentityOptions = {},
  ) {
    const fresh = (): FakeIdentity => ({ clientId: randomUUID(), principalId: randomUUID() });
    this.systemAssigned = options.systemAssigned === false ? undefined : fresh();
    this.userAssigned = Array.from({ length: options.userAssigned ?? 1 }, fresh);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('request', (req, res) => this.serve(req, res));
  }

  /** Listens on `host` (any free port). */
  async listen(host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, host, () => resolve());
    });
    const port = (this.server.address() as AddressInfo).port;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** `IDENTITY_ENDPOINT` of the App Service protocol. */
  get appServiceEndpoint(): string {
    return `${this.base}/msi/token`;
  }

  /** `AZURE_POD_IDENTITY_AUTHORITY_HOST`: where the IMDS token path is served. */
  get imdsHost(): string {
    return this.base;
  }

  /**
   * The environment a process needs to find this endpoint the way @azure/identity (MSAL Node)
   * chooses its source; every other source's variables are set to undefined so that none wins.
   */
  environment(protocol: 'app_service' | 'imds'): Record<string, string | undefined> {
    const none = {
      IDENTITY_ENDPOINT: undefined,
      IDENTITY_HEADER: undefined,
      IDENTITY_SERVER_THUMBPRINT: undefined,
      IMDS_ENDPOINT: undefined,
      MSI_ENDPOINT: undefined,
      MSI_SECRET: undefined,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: undefined,
      AZURE_FEDERATED_TOKEN_FILE: undefined,
      AZURE_CLIENT_ID: undefined,
      AZURE_TENANT_ID: undefined,
      AZURE_CLIENT_SECRET: undefined,
      AZURE_CLIENT_CERTIFICATE_PATH: undefined,
      AZURE_USERNAME: undefined,
    };
    return protocol === 'app_service'
      ? { ...none, IDENTITY_ENDPOINT: this.appServiceEndpoint, IDENTITY_HEADER: this.identityHeader }
      : { ...none, AZURE_POD_IDENTITY_AUTHORITY_HOST: this.imdsHost };
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    const answer = (status: number, body: Record<string, unknown>) => {
      const payload = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(payload)),
      });
      res.end(payload);
      // the path only: the query names the identity, the headers carry the secret
      this.requestLog.record({
        time: new Date().toISOString(),
        method: req.method ?? 'GET',
        path: url.pathname,
        apiVersion: url.searchParams.get('api-version'),
        status,
        durationMs: 0,
        resourceType: 'managedIdentity',
      });
    };
    req.resume();
    req.on('end', () => {
      if (url.pathname.replace(/\/$/, '') === '/msi/token') answer(...this.appService(req, url));
      else if (url.pathname.replace(/\/$/, '') === '/metadata/identity/oauth2/token') answer(...this.imds(req, url));
      else answer(404, { error: 'not_found', error_description: `No route for ${url.pathname}.` });
    });
  }

  private appService(req: http.IncomingMessage, url: URL): [number, Record<string, unknown>] {
    const refuse = (statusCode: number, message: string): [number, Record<string, unknown>] => [
      statusCode,
      { statusCode, message, correlationId: randomUUID() },
    ];
    if (req.method !== 'GET') return refuse(405, 'The requested resource does not support the HTTP method.');
    const header = req.headers['x-identity-header'];
    const got = Buffer.from(typeof header === 'string' ? header : '');
    const want = Buffer.from(this.identityHeader);
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return refuse(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
    if (url.searchParams.get('api-version') !== '2019-08-01')
      return refuse(
        400,
        `The api-version '${url.searchParams.get('api-version') ?? ''}' is not supported; use 2019-08-01.`,
      );
    const resource = url.searchParams.get('resource');
    if (!resource) return refuse(400, 'The resource parameter is required.');
    const identity = this.select(url, ['client_id', 'principal_id', 'object_id']);
    if (typeof identity === 'string') return refuse(400, 'Unable to load the proper Managed Identity.');
    const expiresOn = Math.floor(Date.now() / 1000) + 86_399;
    return [
      200,
      {
        access_token: this.authority.issue(
          86_399,
          { appId: identity.clientId, objectId: identity.principalId },
          resource,
        ),
        expires_on: String(expiresOn),
        resource,
        token_type: 'Bearer',
        client_id: identity.clientId,
      },
    ];
  }

  private imds(req: http.IncomingMessage, url: URL): [number, Record<string, unknown>] {
    const refuse = (status: number, error: string, description: string): [number, Record<string, unknown>] => [
      status,
      { error, error_description: description },
    ];
    if (req.method !== 'GET') return refuse(405, 'invalid_request', 'Only GET is supported.');
    if (String(req.headers['metadata']).toLowerCase() !== 'true')
      return refuse(400, 'invalid_request', 'Required metadata header not specified');
    if (req.headers['x-forwarded-for'] !== undefined)
      return refuse(400, 'invalid_request', 'Request contains X-Forwarded-For header');
    if (!url.searchParams.get('api-version'))
      return refuse(400, 'invalid_request', 'Required query variable api-version is missing');
    const resource = url.searchParams.get('resource');
    if (!resource) return refuse(400, 'invalid_request', 'Required query variable resource is missing');
    const identity = this.select(url, ['client_id', 'object_id']);
    if (identity === 'ambiguous')
      return refuse(
        400,
        'invalid_request',
        'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
      );
    if (typeof identity === 'string') return refuse(400, 'invalid_request', 'Identity not found');
    const now = Math.floor(Date.now() / 1000);
    return [
      200,
      {
        access_token: this.authority.issue(
          86_399,
          { appId: identity.clientId, objectId: identity.principalId },
          resource,
        ),
        client_id: identity.clientId,
        expires_in: '86399',
        expires_on: String(now + 86_399),
        ext_expires_in: '86399',
        not_before: String(now),
        resource,
        token_type: 'Bearer',
      },
    ];
  }

  /** The identity a token request names (client or object id), else the host's only one. */
  private select(url: URL, keys: readonly string[]): FakeIdentity | 'not_found' | 'ambiguous' {
    const named = keys.map((k) => [k, url.searchParams.get(k)] as const).filter(([, v]) => v);
    if (named.length > 1) return 'not_found';
    const all = [...(this.systemAssigned ? [this.systemAssigned] : []), ...this.userAssigned];
    if (named.length === 1) {
      const [key, value] = named[0]!;
      const found = all.find(
        (i) => (key === 'client_id' ? i.clientId : i.principalId).toLowerCase() === value!.toLowerCase(),
      );
      return found ?? 'not_found';
    }
    if (this.systemAssigned) return this.systemAssigned;
    if (this.userAssigned.length === 1) return this.userAssigned[0]!;
    return this.userAssigned.length > 1 ? 'ambiguous' : 'not_found';
  }
}
