import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ArmResponse } from './arm-context.js';

/** Who may get a token, and the key tokens are signed with (per run). */
export interface AuthorityConfig {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** e.g. https://127.0.0.1:12345 — the authority host and the ARM endpoint are the same server. */
  readonly host: string;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A Microsoft Entra ID stand-in for the client-credentials flow MSAL runs for
 * `ClientSecretCredential`: the v2.0 OpenID configuration, instance discovery, and the token
 * endpoint. Tokens are HMAC-signed JWTs (one key per run) so the ARM side can check them.
 */
export class Authority {
  private readonly config: AuthorityConfig;
  private readonly key = randomBytes(32);

  constructor(config: AuthorityConfig) {
    this.config = config;
  }

  /** Answers an authority request, or undefined when the path is not one. */
  handle(method: string, segments: readonly string[], form: URLSearchParams): ArmResponse | undefined {
    const { tenantId, host } = this.config;
    const lower = segments.map((s) => s.toLowerCase());
    // /common/discovery/instance (only fetched when instance discovery is not disabled)
    if (method === 'GET' && lower.join('/') === 'common/discovery/instance') {
      const h = new URL(host).host;
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${host}/${tenantId}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: h, preferred_cache: h, aliases: [h] }],
        },
      };
    }
    const tenant = segments[0];
    if (!tenant) return undefined;
    const rest = lower.slice(1).join('/');
    if (
      method === 'GET' &&
      (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration')
    ) {
      if (!this.knownTenant(tenant))
        return this.oauthError(400, 'invalid_tenant', `AADSTS90002: Tenant '${tenant}' not found.`);
      const base = `${host}/${tenantId}`;
      return {
        status: 200,
        body: {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${base}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          issuer: `${base}/v2.0`,
          request_uri_parameter_supported: false,
          userinfo_endpoint: `${host}/oidc/userinfo`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
          http_logout_supported: true,
          frontchannel_logout_supported: true,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
          kerberos_endpoint: `${base}/kerberos`,
          tenant_region_scope: null,
          cloud_instance_name: 'microsoftonline.com',
          cloud_graph_host_name: 'graph.windows.net',
          msgraph_host: 'graph.microsoft.com',
          rbac_url: 'https://pas.windows.net',
        },
      };
    }
    if (method === 'POST' && (rest === 'oauth2/v2.0/token' || rest === 'oauth2/token')) {
      if (!this.knownTenant(tenant))
        return this.oauthError(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
      if (form.get('grant_type') !== 'client_credentials')
        return this.oauthError(
          400,
          'unsupported_grant_type',
          'AADSTS70003: The app requested an unsupported grant type.',
        );
      if (form.get('client_id') !== this.config.clientId) {
        return this.oauthError(
          400,
          'unauthorized_client',
          `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
        );
      }
      const secret = form.get('client_secret') ?? '';
      const want = Buffer.from(this.config.clientSecret);
      const got = Buffer.from(secret);
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        return this.oauthError(
          401,
          'invalid_client',
          'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
        );
      }
      const expiresIn = 3599;
      return {
        status: 200,
        body: {
          token_type: 'Bearer',
          expires_in: expiresIn,
          ext_expires_in: expiresIn,
          access_token: this.issue(expiresIn),
        },
      };
    }
    return undefined;
  }

  private knownTenant(t: string): boolean {
    return t.toLowerCase() === this.config.tenantId.toLowerCase() || t.toLowerCase() === 'organizations';
  }

  private oauthError(status: number, error: string, description: string): ArmResponse {
    return {
      status,
      body: {
        error,
        error_description: description,
        error_codes: [Number(description.match(/AADSTS(\d+)/)?.[1] ?? 0)],
        timestamp: new Date().toISOString(),
      },
    };
  }

  /**
   * Signs a token for a principal (the service principal by default; a managed identity's ids
   * when its endpoint asks), valid for `expiresIn` seconds, for `audience`.
   */
  issue(
    expiresIn: number,
    principal: { readonly appId: string; readonly objectId: string } = {
      appId: this.config.clientId,
      objectId: this.config.clientId,
    },
    audience = 'https://management.azure.com/',
  ): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
    const payload = b64url(
      JSON.stringify({
        aud: audience,
        iss: `https://sts.windows.net/${this.config.tenantId}/`,
        iat: now,
        nbf: now,
        exp: now + expiresIn,
        appid: principal.appId,
        tid: this.config.tenantId,
        sub: principal.objectId,
        oid: principal.objectId,
      }),
    );
    const sig = createHmac('sha256', this.key).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${sig}`;
  }

  /** The object id (`oid`) of the principal a token accepted by `check` was issued to. */
  callerOf(authorization: string | undefined): string | undefined {
    const payload = /^Bearer\s+[^.\s]+\.([^.\s]+)\./i.exec(authorization ?? '')?.[1];
    if (payload === undefined) return undefined;
    try {
      const oid = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown }).oid;
      return typeof oid === 'string' ? oid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Checks an Authorization header; returns the ARM error code and message when it is not acceptable. */
  check(authorization: string | undefined): { code: string; message: string } | undefined {
    if (!authorization)
      return { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." };
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m)
      return {
        code: 'AuthenticationFailed',
        message: "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      };
    const parts = m[1]!.split('.');
    if (parts.length !== 3) return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    const want = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2]!, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    let exp = 0;
    try {
      exp = Number((JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: number }).exp);
    } catch {
      return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    }
    if (!(exp * 1000 > Date.now()))
      return {
        code: 'ExpiredAuthenticationToken',
        message: 'The access token expiry UTC time is earlier than current UTC time.',
      };
    return undefined;
  }
}
