import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArmContext, type ArmResponse, type ProviderRequest } from './arm-context.js';
import { ArmError } from './arm-error.js';
import { ArmState, type Json } from './arm-state.js';
import { Authority } from './authority.js';
import { ComputeProvider } from './compute-provider.js';
import { Faults, type FaultConfig, type ScriptedFault } from './faults.js';
import { ManagedIdentityEndpoint, type ManagedIdentityOptions } from './managed-identity.js';
import { NetworkProvider } from './network-provider.js';
import { Operations, type LroConfig, type Operation } from './operations.js';
import { RateLimits, requestKind, type RateLimitConfig } from './rate-limits.js';
import { RequestLog } from './request-log.js';
import { checkTags } from './rules.js';
import { ResourcesProvider, RESOURCES_API_VERSIONS } from './resources-provider.js';
import { StorageProvider } from './storage-provider.js';
import { generateTlsMaterial } from './tls-material.js';
import type { VmHooks } from './vm-hooks.js';

/** How to start the fake. Everything is optional. */
export interface FakeArmOptions {
  /** Port to listen on (default: any free port). */
  readonly port?: number;
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  readonly subscriptionId?: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  /** Default: random per run. */
  readonly clientSecret?: string;
  readonly faults?: Partial<FaultConfig>;
  /**
   * Polls answered InProgress before completion (default 1), Retry-After seconds on LRO answers
   * (default 0: none), automatic completion of unpolled operations (default 0: off).
   */
  readonly lro?: Partial<LroConfig>;
  readonly hooks?: VmHooks;
  /** Folder for ca.pem and requests.jsonl (default: a fresh temp dir, removed by stop()). */
  readonly dir?: string;
  /** Blob endpoint reported for a storage account (default https://{name}.blob.core.windows.net/). */
  readonly blobEndpoint?: (account: string) => string;
  /** Keys for a storage account (default: random); e.g. the keys an Azurite instance accepts. */
  readonly storageAccountKeys?: (account: string) => { key1: string; key2: string } | undefined;
  /** The host's managed identities (default: system-assigned and one user-assigned). */
  readonly managedIdentity?: ManagedIdentityOptions;
  /** The address of a new static public IP, by its name (default: the fake's own 20.0.x.y sequence). */
  readonly publicIpAddress?: (name: string) => string | undefined;
  /** Token buckets per request kind (default: ARM's documented subscription limits). */
  readonly rateLimits?: Partial<RateLimitConfig>;
  /** Marketplace images that need a purchase plan, as `{publisher, offer, sku}` (plan: name = sku, product = offer). */
  readonly marketplacePlans?: readonly { publisher: string; offer: string; sku: string }[];
  /** More marketplace images `GET .../publishers/.../versions` knows (default: Canonical's Ubuntu 22.04 and 24.04 server images). */
  readonly marketplaceImages?: readonly MarketplaceImageEntry[];
}

/** A marketplace image the fake knows, with its versions (and a purchase plan when it has one). */
export interface MarketplaceImageEntry {
  readonly publisher: string;
  readonly offer: string;
  readonly sku: string;
  readonly versions: readonly string[];
  readonly plan?: boolean;
}

/** Images every fake knows: what the ops-files and tests name. */
const DEFAULT_IMAGES: readonly MarketplaceImageEntry[] = [
  {
    publisher: 'Canonical',
    offer: '0001-com-ubuntu-server-jammy',
    sku: '22_04-lts-gen2',
    versions: ['22.04.202410020', '22.04.202411190'],
  },
  {
    publisher: 'Canonical',
    offer: '0001-com-ubuntu-server-jammy',
    sku: '22_04-lts',
    versions: ['22.04.202410020', '22.04.202411010', '22.04.202411190'],
  },
  { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', versions: ['24.04.202411030'] },
];

/** A running fake ARM. */
export interface FakeArm {
  /** ARM endpoint, e.g. https://127.0.0.1:41234 (pass as `endpoint` to the SDK clients). */
  readonly endpoint: string;
  /** The CA that signed the server certificate (pass as `tlsOptions: { ca }`). */
  readonly caPem: string;
  /** ca.pem on disk (for NODE_EXTRA_CA_CERTS in a child process). */
  readonly caFile: string;
  /** Authority host for ClientSecretCredential (same server; also pass disableInstanceDiscovery). */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly subscriptionId: string;
  /**
   * The managed identity endpoints (App Service and IMDS protocols, plain HTTP on the same host):
   * `environment('app_service' | 'imds')` gives the variables a process needs to use them.
   */
  readonly managedIdentity: ManagedIdentityEndpoint;
  readonly requestLog: RequestLog;
  readonly faults: Faults;
  /** Long-running operation behaviour, changeable at runtime. */
  readonly lro: LroConfig;
  /** The subscription's ratelimit token buckets, changeable at runtime. */
  readonly rateLimits: RateLimits;
  readonly state: ArmState;
  /** The VM hooks; assign members at any time. */
  readonly hooks: VmHooks;
  /** Storage account keys (e.g. to configure Azurite with the same account). */
  storageAccountKeys(name: string): { key1: string; key2: string } | undefined;
  /** Stops listening, drops connections, removes the temp dir it created. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts the fake Azure Resource Manager on HTTPS. */
export async function startFakeArm(opts: FakeArmOptions = {}): Promise<FakeArm> {
  const host = opts.host ?? '127.0.0.1';
  const tls = await generateTlsMaterial(host === '127.0.0.1' || host === 'localhost' ? [] : [host]);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'fake-arm-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.caPem);
  const requestLog = new RequestLog(join(dir, 'requests.jsonl'));
  const subscriptionId = opts.subscriptionId ?? randomUUID();
  const tenantId = opts.tenantId ?? randomUUID();
  const clientId = opts.clientId ?? randomUUID();
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
  const faults = new Faults(opts.faults);
  const lro: LroConfig = {
    pollsBeforeDone: 1,
    retryAfterSeconds: 0,
    autoCompleteMs: 0,
    latency: 'polls',
    timeScale: 0.01,
    ...opts.lro,
  };
  const rateLimits = new RateLimits(opts.rateLimits, () => lro.timeScale);
  const operations = new Operations(lro);
  const state = new ArmState(subscriptionId);
  const hooks: VmHooks = { ...opts.hooks };

  const server = https.createServer({ key: tls.keyPem, cert: tls.certPem });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ctx = new ArmContext({
    state,
    operations,
    faults,
    hooks,
    endpoint,
    blobEndpoint: opts.blobEndpoint ?? ((name) => `https://${name}.blob.core.windows.net/`),
  });
  const images = [...DEFAULT_IMAGES, ...(opts.marketplaceImages ?? [])];
  for (const m of images)
    if (m.plan)
      ctx.marketplacePlans.set(`${m.publisher}/${m.offer}/${m.sku}`.toLowerCase(), {
        name: m.sku,
        product: m.offer,
        publisher: m.publisher,
      });
  for (const m of opts.marketplacePlans ?? [])
    ctx.marketplacePlans.set(`${m.publisher}/${m.offer}/${m.sku}`.toLowerCase(), {
      name: m.sku,
      product: m.offer,
      publisher: m.publisher,
    });
  const network = new NetworkProvider(ctx);
  network.publicIpFor = opts.publicIpAddress;
  const compute = new ComputeProvider(ctx);
  const storage = new StorageProvider(ctx, opts.storageAccountKeys);
  const resources = new ResourcesProvider(ctx, compute);
  const authority = new Authority({ tenantId, clientId, clientSecret, host: endpoint });
  const managedIdentity = new ManagedIdentityEndpoint(authority, requestLog, opts.managedIdentity);
  try {
    await managedIdentity.listen(host);
  } catch (err) {
    server.close();
    throw err;
  }
  const providers = [network, compute, storage];

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', endpoint);
      const raw = Buffer.concat(chunks).toString('utf8');
      let logType = 'unknown';
      let fault: string | undefined;
      let caller: string | undefined;
      const limit: Record<string, string> = {};
      const send = (r: ArmResponse) => {
        const headers: Record<string, string> = {
          'x-ms-request-id': randomUUID(),
          'x-ms-correlation-request-id': randomUUID(),
          ...limit,
          ...(r.headers ?? {}),
        };
        let payload = '';
        if (r.body !== undefined && r.status !== 204 && req.method !== 'HEAD') {
          payload = JSON.stringify(r.body);
          headers['Content-Type'] = 'application/json; charset=utf-8';
        }
        headers['Content-Length'] = String(Buffer.byteLength(payload));
        res.writeHead(r.status, headers);
        res.end(payload);
        requestLog.record({
          time: new Date().toISOString(),
          method: req.method ?? 'GET',
          path: url.pathname,
          apiVersion: url.searchParams.get('api-version'),
          status: r.status,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          resourceType: logType,
          ...(fault ? { fault } : {}),
          ...(caller ? { caller } : {}),
        });
      };
      handle(
        req.method ?? 'GET',
        url,
        raw,
        req.headers.authorization,
        (t) => (logType = t),
        (f) => (fault = f),
        (c) => (caller = c),
        limit,
      ).then(send, (err: unknown) => {
        if (err instanceof ArmError) send({ status: err.status, body: err.body(), headers: { ...err.headers } });
        else
          send({
            status: 500,
            body: {
              error: {
                code: 'InternalServerError',
                message: `The fake failed: ${err instanceof Error ? err.message : String(err)}`,
              },
            },
          });
      });
    });
  });

  async function handle(
    method: string,
    url: URL,
    raw: string,
    authorization: string | undefined,
    setType: (t: string) => void,
    setFault: (f: string) => void,
    setCaller: (oid: string | undefined) => void,
    limit: Record<string, string>,
  ): Promise<ArmResponse> {
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const lower = segments.map((s) => s.toLowerCase());

    if (lower[0] === '_fake') {
      setType('admin');
      return admin(method, lower.slice(1), raw);
    }
    if (lower[0] !== 'subscriptions') {
      setType('auth');
      const form = new URLSearchParams(method === 'POST' ? raw : '');
      const r = authority.handle(method, segments, form);
      if (r) return r;
      throw new ArmError(404, 'NotFound', `No route for ${url.pathname}.`);
    }

    setType(resourceTypeOf(segments));
    const authError = authority.check(authorization);
    if (authError) {
      throw new ArmError(401, authError.code, authError.message, {
        'WWW-Authenticate': `Bearer authorization_uri="${endpoint}/${tenantId}", error="invalid_token", error_description="${authError.message.replace(/"/g, "'")}"`,
      });
    }
    setCaller(authority.callerOf(authorization));
    const decision = faults.decide(method, url.pathname);
    if (decision.latencyMs > 0) {
      setFault('latency');
      await sleep(decision.latencyMs);
    }
    // Every ARM answer reports what is left of the subscription's bucket for the request's kind;
    // an empty bucket is a 429 with Retry-After. Source:
    // https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#remaining-requests
    const kind = requestKind(method);
    const token = rateLimits.take(kind);
    limit[`x-ms-ratelimit-remaining-subscription-${kind}`] = String(token.remaining);
    if (!token.ok) {
      setFault('throttle');
      throw new ArmError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of '${kind === 'reads' ? 'read' : kind === 'deletes' ? 'delete' : 'write'}' requests for subscription '${subscriptionId}' actually exceeded the limit of '${rateLimits.get()[kind].size}' for time interval '00:00:${String(Math.ceil(rateLimits.get()[kind].size / rateLimits.get()[kind].refillPerSecond)).padStart(2, '0')}'. Please try again after '${token.retryAfterSeconds}' seconds.`,
        {
          'Retry-After': String(token.retryAfterSeconds),
        },
      );
    }
    if (decision.throttle) {
      setFault('throttle');
      const after = faults.get().throttleRetryAfterSeconds;
      const kind = method === 'GET' ? 'read' : 'write';
      throw new ArmError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of '${kind}' requests for subscription '${subscriptionId}' actually exceeded the limit of '12000' for time interval '01:00:00'. Please try again after '${after}' seconds.`,
        {
          'Retry-After': String(after),
          [`x-ms-ratelimit-remaining-subscription-${kind}s`]: '0',
        },
      );
    }
    if (decision.serverError !== undefined) {
      setFault('serverError');
      throw decision.serverError === 503
        ? new ArmError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please try again later.')
        : new ArmError(
            decision.serverError,
            'InternalServerError',
            'Encountered internal server error. Diagnostic information: fake fault injection.',
          );
    }

    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion)
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    if (segments[1]!.toLowerCase() !== subscriptionId.toLowerCase()) {
      throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${segments[1]}' could not be found.`);
    }
    let body: Json;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new ArmError(
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        );
      }
    }
    const answer = await route(method, url, segments, lower, apiVersion, body);
    if (answer.status < 300 && faults.lostResponse(method, url.pathname)) {
      setFault('lostResponse');
      throw new ArmError(
        500,
        'InternalServerError',
        'Encountered internal server error. Diagnostic information: fake fault injection (the request took effect).',
      );
    }
    return answer;
  }

  async function route(
    method: string,
    url: URL,
    segments: string[],
    lower: string[],
    apiVersion: string,
    body: Json,
  ): Promise<ArmResponse> {
    const base: Omit<ProviderRequest, 'resourceGroup' | 'resourceType' | 'name' | 'rest'> = {
      method,
      path: url.pathname,
      query: url.searchParams,
      apiVersion,
      body,
    };
    const checkVersion = (ns: string, type: string, versions: readonly string[]) => {
      if (!versions.includes(apiVersion)) {
        throw new ArmError(
          400,
          'InvalidApiVersionParameter',
          `The api-version '${apiVersion}' is invalid. The supported versions are '${versions.join(',')}'. The resource type is '${ns}/${type}'.`,
        );
      }
    };

    // /subscriptions/{s}/operationresults/{id}  (resource group deletion)
    if (lower[2] === 'operationresults' && segments.length === 4) {
      checkVersion('Microsoft.Resources', 'operationresults', [...RESOURCES_API_VERSIONS, '2018-08-01']);
      return pollLocation(segments[3]!, method);
    }
    // /subscriptions/{s}/providers/{ns}/locations/{loc}/{operations|operationResults|asyncoperations}/{id}
    if (lower[2] === 'providers' && lower[4] === 'locations' && segments.length === 8) {
      const ns = lower[3];
      const p = providers.find((x) => x.namespace.toLowerCase() === ns);
      if (!p) throw new ArmError(404, 'NotFound', `No route for ${url.pathname}.`);
      const versions =
        p === compute
          ? [...new Set(Object.values(compute.apiVersions('disks')).concat(compute.apiVersions('virtualMachines')))]
          : p.apiVersions('');
      checkVersion(p.namespace, 'locations/operations', versions);
      const kind = lower[6];
      const id = segments[7]!;
      if (kind === 'operations' && url.searchParams.get('monitor') !== 'true') return pollStatus(id, p.namespace);
      if (kind === 'operations' || kind === 'operationresults' || kind === 'asyncoperations')
        return pollLocation(id, method);
      throw new ArmError(404, 'NotFound', `No route for ${url.pathname}.`);
    }
    // /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/publishers/{p}/artifacttypes/vmimage/offers/{o}/skus/{sku}/versions[/{v}]:
    // the marketplace (Virtual Machine Images - List / Get). Source: the REST spec examples
    // VirtualMachineImage_List_*.json (a list of {name, location, id}) and the Get operation, whose
    // properties carry the purchase `plan` when the image has one and `osDiskImage`.
    if (
      lower[2] === 'providers' &&
      lower[3] === 'microsoft.compute' &&
      lower[4] === 'locations' &&
      lower[6] === 'publishers' &&
      lower[8] === 'artifacttypes' &&
      lower[10] === 'offers' &&
      lower[12] === 'skus' &&
      lower[14] === 'versions' &&
      (segments.length === 15 || segments.length === 16)
    ) {
      checkVersion(
        'Microsoft.Compute',
        'locations/publishers/artifacttypes/offers/skus/versions',
        compute.apiVersions('virtualMachines'),
      );
      if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      const [loc, pub, offer, sku] = [segments[5]!, segments[7]!, segments[11]!, segments[13]!];
      const image = images.find(
        (m) =>
          m.publisher.toLowerCase() === pub.toLowerCase() &&
          m.offer.toLowerCase() === offer.toLowerCase() &&
          m.sku.toLowerCase() === sku.toLowerCase(),
      );
      const idOf = (v: string) =>
        `/Subscriptions/${subscriptionId}/Providers/Microsoft.Compute/Locations/${loc}/Publishers/${pub}/ArtifactTypes/VMImage/Offers/${offer}/Skus/${sku}/Versions/${v}`;
      const version = segments[15];
      if (!image || (version !== undefined && !image.versions.includes(version)))
        throw new ArmError(404, 'NotFound', 'Artifact: VMImage was not found.');
      if (version === undefined)
        return { status: 200, body: image.versions.map((v) => ({ name: v, location: loc, id: idOf(v) })) };
      return {
        status: 200,
        body: {
          name: version,
          location: loc,
          id: idOf(version),
          properties: {
            ...(image.plan ? { plan: { name: image.sku, product: image.offer, publisher: image.publisher } } : {}),
            osDiskImage: { operatingSystem: 'Linux', sizeInGb: 30 },
            hyperVGeneration: /gen2/i.test(image.sku) ? 'V2' : 'V1',
            architecture: 'x64',
          },
        },
      };
    }
    // /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/vmSizes
    if (
      lower[2] === 'providers' &&
      lower[3] === 'microsoft.compute' &&
      lower[4] === 'locations' &&
      lower[6] === 'vmsizes' &&
      segments.length === 7
    ) {
      checkVersion('Microsoft.Compute', 'locations/vmSizes', compute.apiVersions('virtualMachines'));
      return compute.vmSizes();
    }
    // /subscriptions/{s}/providers/{ns}/{type}: every resource of a type in the subscription
    if (lower[2] === 'providers' && segments.length === 5 && method === 'GET') {
      const p = providers.find((x) => x.namespace.toLowerCase() === lower[3]);
      const type = p?.canonicalType(segments[4]!);
      if (!p || !type) throw new ArmError(404, 'NotFound', `No route for ${url.pathname}.`);
      checkVersion(p.namespace, type, p.apiVersions(type));
      return { status: 200, body: { value: state.list(`${p.namespace}/${type}`).map((r) => p.render(r)) } };
    }
    if (lower[2] === 'resourcegroups' && segments.length <= 4) {
      checkVersion('Microsoft.Resources', 'resourceGroups', RESOURCES_API_VERSIONS);
      return resources.handle(method, segments[3], {
        ...base,
        resourceGroup: segments[3] ?? '',
        resourceType: 'resourceGroups',
        name: segments[3],
        rest: [],
      });
    }
    // {resource id}/providers/Microsoft.Resources/tags/default: the tags of a resource, read or
    // written without touching the resource (synchronous, 200). Source: the Tags REST API
    // (Tags - Get/Create Or Update/Update At Scope, api-version 2021-04-01 and later).
    if (
      lower[2] === 'resourcegroups' &&
      lower[4] === 'providers' &&
      lower[8] === 'providers' &&
      lower[9] === 'microsoft.resources' &&
      lower[10] === 'tags' &&
      lower[11] === 'default' &&
      segments.length === 12
    ) {
      checkVersion('Microsoft.Resources', 'tags', RESOURCES_API_VERSIONS);
      const r = state.get(`/${segments.slice(0, 8).join('/')}`);
      if (!r)
        throw new ArmError(
          404,
          'ResourceNotFound',
          `The Resource '${segments[5]}/${segments[6]}/${segments[7]}' under resource group '${segments[3]}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        );
      const have: Record<string, string> = { ...(r.body.tags ?? {}) };
      const given: Record<string, string> = body?.properties?.tags ?? {};
      let next = have;
      if (method === 'PUT') next = { ...given };
      else if (method === 'PATCH') {
        const op = String(body?.operation ?? '');
        if (op === 'Merge') next = { ...have, ...given };
        else if (op === 'Replace') next = { ...given };
        else if (op === 'Delete')
          next = Object.fromEntries(Object.entries(have).filter(([k, v]) => !(k in given) || given[k] !== v));
        else
          throw new ArmError(
            400,
            'InvalidRequestContent',
            `The tags operation '${op}' is not one of Merge, Replace, Delete.`,
          );
      } else if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      if (method !== 'GET') {
        checkTags(next, r.id);
        r.body.tags = next;
      }
      return {
        status: 200,
        body: {
          id: `${r.id}/providers/Microsoft.Resources/tags/default`,
          name: 'default',
          type: 'Microsoft.Resources/tags',
          properties: { tags: next },
        },
      };
    }
    // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}[/{name}[/...]]
    if (lower[2] === 'resourcegroups' && lower[4] === 'providers' && segments.length >= 7) {
      const ns = lower[5];
      const p = providers.find((x) => x.namespace.toLowerCase() === ns);
      if (!p)
        throw new ArmError(
          400,
          'MissingSubscriptionRegistration',
          `The subscription is not registered to use namespace '${segments[5]}'.`,
        );
      const type = segments[6]!;
      if (!p.canonicalType(type)) {
        throw new ArmError(
          400,
          'InvalidResourceType',
          `The resource type '${type}' could not be found in the namespace '${p.namespace}' for api version '${apiVersion}'.`,
        );
      }
      checkVersion(p.namespace, p.canonicalType(type)!, p.apiVersions(type));
      return p.handle({
        ...base,
        resourceGroup: segments[3]!,
        resourceType: type,
        name: segments[7],
        rest: segments.slice(8),
      });
    }
    throw new ArmError(404, 'NotFound', `No route for ${url.pathname}.`);
  }

  function retryHeader(op: Operation): Record<string, string> {
    const s = operations.retryAfterSeconds(op);
    return s > 0 ? { 'Retry-After': String(s) } : {};
  }

  function pollStatus(id: string, ns: string): ArmResponse {
    const op = operations.get(id);
    if (!op) throw new ArmError(404, 'NotFound', `The operation '${id}' could not be found.`);
    operations.poll(op);
    const body: Json =
      ns === 'Microsoft.Network'
        ? { status: op.status, ...(op.error ? { error: op.error } : {}) }
        : {
            name: op.id,
            status: op.status,
            startTime: op.startTime,
            ...(op.endTime ? { endTime: op.endTime } : {}),
            ...(op.error ? { error: op.error } : {}),
          };
    return { status: 200, body, headers: op.status === 'InProgress' ? retryHeader(op) : {} };
  }

  function pollLocation(id: string, method: string): ArmResponse {
    if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    const op = operations.get(id);
    if (!op) throw new ArmError(404, 'NotFound', `The operation '${id}' could not be found.`);
    operations.poll(op);
    if (op.status === 'InProgress') return { status: 202, headers: retryHeader(op) };
    if (op.status === 'Failed' || op.status === 'Canceled') return { status: 400, body: { error: op.error } };
    const result = op.result?.();
    return result === undefined ? { status: 200 } : { status: 200, body: result };
  }

  function admin(method: string, path: readonly string[], raw: string): ArmResponse {
    const body = raw.trim() ? (JSON.parse(raw) as Json) : {};
    const route = path.join('/');
    if (route === 'faults' && method === 'GET') return { status: 200, body: faults.get() };
    if (route === 'faults' && (method === 'PUT' || method === 'PATCH' || method === 'POST'))
      return { status: 200, body: faults.set(body as Partial<FaultConfig>) };
    if (route === 'faults/enqueue' && method === 'POST') {
      faults.enqueue(body as ScriptedFault);
      return { status: 204 };
    }
    if (route === 'faults/clear' && method === 'POST') {
      faults.clear();
      return { status: 200, body: faults.get() };
    }
    if (route === 'lro' && method === 'GET') return { status: 200, body: lro };
    if (route === 'lro' && (method === 'PUT' || method === 'PATCH' || method === 'POST')) {
      Object.assign(lro, pick(body, ['pollsBeforeDone', 'retryAfterSeconds', 'autoCompleteMs', 'timeScale']));
      if (body.latency === 'time' || body.latency === 'polls') lro.latency = body.latency;
      return { status: 200, body: lro };
    }
    if (route === 'counters' && method === 'GET') return { status: 200, body: requestLog.counters() };
    if (route === 'state' && method === 'GET') {
      return {
        status: 200,
        body: {
          resourceGroups: state.listGroups().map((g) => g.name),
          resources: state
            .all()
            .map((r) => ({ id: r.id, type: r.type, provisioningState: r.body.properties?.provisioningState })),
        },
      };
    }
    throw new ArmError(404, 'NotFound', `No admin route ${method} /_fake/${route}.`);
  }

  const sockets = new Set<Socket>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    endpoint,
    caPem: tls.caPem,
    caFile,
    authorityHost: endpoint,
    tenantId,
    clientId,
    clientSecret,
    subscriptionId,
    managedIdentity,
    requestLog,
    faults,
    lro,
    rateLimits,
    state,
    hooks,
    storageAccountKeys: (name) => storage.accountKeys(name),
    stop: async () => {
      operations.dispose();
      await managedIdentity.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await closed;
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pick(o: Json, keys: string[]): Json {
  const out: Json = {};
  for (const k of keys) if (o && typeof o[k] === 'number') out[k] = o[k];
  return out;
}

/** The resource type a request path counts under in the request log. */
export function resourceTypeOf(segments: readonly string[]): string {
  const lower = segments.map((s) => s.toLowerCase());
  if (lower[2] === 'operationresults') return 'Microsoft.Resources/operationresults';
  if (lower[2] === 'providers' && lower[4] === 'locations' && lower[6] === 'publishers')
    return `${segments[3]}/locations/publishers`;
  if (lower[2] === 'providers' && lower[4] === 'locations') return `${segments[3]}/operations`;
  if (lower[2] === 'resourcegroups' && lower[4] !== 'providers') return 'Microsoft.Resources/resourceGroups';
  if (lower[8] === 'providers' && lower[10] === 'tags') return 'Microsoft.Resources/tags';
  if (lower[4] === 'providers' && segments[5] && segments[6]) {
    const child = segments.length >= 10 ? `/${segments[8]}` : '';
    return `${segments[5]}/${segments[6]}${child}`;
  }
  return 'other';
}
