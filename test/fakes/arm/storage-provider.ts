import { randomBytes } from 'node:crypto';
import type { ArmContext, ArmResponse, ProviderRequest } from './arm-context.js';
import { ArmError, invalidParameter, resourceNotFound } from './arm-error.js';
import { canonicalJson, clone, type Json, type StoredResource } from './arm-state.js';

/** api-versions accepted by Microsoft.Storage (what @azure/arm-storage 20 sends, and the examples'). */
export const STORAGE_API_VERSIONS = ['2025-08-01', '2025-06-01', '2026-06-01', '2024-01-01', '2023-05-01'];

const NS = 'Microsoft.Storage';

/** Microsoft.Storage storage accounts: create (202 + Location), get, list, listKeys, delete. */
export class StorageProvider {
  readonly namespace = NS;
  private readonly ctx: ArmContext;
  /** Account keys, kept out of the resource body (ARM never returns them on GET). */
  private readonly keys = new Map<string, { key1: string; key2: string; created: string }>();

  private readonly chooseKeys: ((account: string) => { key1: string; key2: string } | undefined) | undefined;

  /** `chooseKeys` may supply an account's keys (e.g. the ones an Azurite instance was started with). */
  constructor(ctx: ArmContext, chooseKeys?: (account: string) => { key1: string; key2: string } | undefined) {
    this.ctx = ctx;
    this.chooseKeys = chooseKeys;
  }

  canonicalType(type: string): string | undefined {
    return type.toLowerCase() === 'storageaccounts' ? 'storageAccounts' : undefined;
  }

  apiVersions(): readonly string[] {
    return STORAGE_API_VERSIONS;
  }

  /** The two account keys (for tests that pair the fake with Azurite). */
  accountKeys(name: string): { key1: string; key2: string } | undefined {
    const k = this.keys.get(name.toLowerCase());
    return k ? { key1: k.key1, key2: k.key2 } : undefined;
  }

  render(r: StoredResource): Json {
    return clone(r.body);
  }

  async handle(req: ProviderRequest): Promise<ArmResponse> {
    if (!this.canonicalType(req.resourceType)) {
      throw new ArmError(
        400,
        'InvalidResourceType',
        `The resource type '${req.resourceType}' could not be found in the namespace '${NS}' for api version '${req.apiVersion}'.`,
      );
    }
    const group = this.ctx.state.requireGroup(req.resourceGroup);
    if (req.name === undefined) {
      if (req.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      return {
        status: 200,
        body: { value: this.ctx.state.list(`${NS}/storageAccounts`, group.name).map((r) => this.render(r)) },
      };
    }
    const id = this.ctx.state.resourceId(group.name, `${NS}/storageAccounts`, req.name);
    const existing = this.ctx.state.get(id);
    if (req.rest.length) {
      if (req.method === 'POST' && req.rest.length === 1 && req.rest[0]!.toLowerCase() === 'listkeys') {
        if (!existing) throw resourceNotFound(`${NS}/storageAccounts`, req.name, group.name);
        const k = this.keys.get(req.name.toLowerCase())!;
        return {
          status: 200,
          body: {
            keys: [
              { keyName: 'key1', value: k.key1, permissions: 'FULL', creationTime: k.created },
              { keyName: 'key2', value: k.key2, permissions: 'FULL', creationTime: k.created },
            ],
          },
        };
      }
      throw new ArmError(404, 'NotFound', `The requested resource ${req.path} does not exist.`);
    }
    switch (req.method) {
      case 'GET':
        if (!existing) throw resourceNotFound(`${NS}/storageAccounts`, req.name, group.name);
        return { status: 200, body: this.render(existing) };
      case 'DELETE':
        if (!existing) return { status: 204 };
        this.ctx.state.delete(id);
        this.keys.delete(req.name.toLowerCase());
        return { status: 200 };
      case 'PUT':
        return this.put(req, id, group.name, group.location, existing);
      default:
        throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    }
  }

  private async put(
    req: ProviderRequest,
    id: string,
    rg: string,
    rgLocation: string,
    existing: StoredResource | undefined,
  ): Promise<ArmResponse> {
    const name = req.name!;
    const body = req.body ?? {};
    if (!/^[a-z0-9]{3,24}$/.test(name)) {
      throw new ArmError(
        400,
        'AccountNameInvalid',
        `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
      );
    }
    const elsewhere = this.ctx.state
      .list(`${NS}/storageAccounts`)
      .find((r) => r.name.toLowerCase() === name.toLowerCase() && r.id.toLowerCase() !== id.toLowerCase());
    if (elsewhere)
      throw new ArmError(409, 'StorageAccountAlreadyTaken', `The storage account named ${name} is already taken.`);
    if (!body.sku?.name) throw invalidParameter("Required parameter 'sku' is missing (null).");
    if (!body.kind) throw invalidParameter("Required parameter 'kind' is missing (null).");
    const inputKey = canonicalJson(body);
    if (existing && existing.inputKey === inputKey) return { status: 200, body: this.render(existing) };
    const location = String(body.location ?? rgLocation)
      .toLowerCase()
      .replace(/\s+/g, '');
    const created = existing?.body.properties.creationTime ?? new Date().toISOString();
    if (!this.keys.has(name)) {
      const chosen = this.chooseKeys?.(name);
      this.keys.set(name, {
        key1: chosen?.key1 ?? randomBytes(64).toString('base64'),
        key2: chosen?.key2 ?? randomBytes(64).toString('base64'),
        created,
      });
    }
    const blob = this.ctx.blobEndpoint(name);
    const host = (svc: string) => `https://${name}.${svc}.core.windows.net/`;
    const p = body.properties ?? {};
    const doc: Json = {
      id,
      name,
      type: `${NS}/storageAccounts`,
      location,
      ...(body.tags ? { tags: body.tags } : {}),
      sku: { name: body.sku.name, tier: /premium/i.test(body.sku.name) ? 'Premium' : 'Standard' },
      kind: body.kind,
      properties: {
        provisioningState: 'Succeeded',
        creationTime: created,
        keyCreationTime: { key1: created, key2: created },
        primaryEndpoints: {
          blob,
          queue: host('queue'),
          table: host('table'),
          file: host('file'),
          dfs: host('dfs'),
          web: host('web'),
        },
        primaryLocation: location,
        statusOfPrimary: 'available',
        supportsHttpsTrafficOnly: p.supportsHttpsTrafficOnly ?? true,
        minimumTlsVersion: p.minimumTlsVersion ?? 'TLS1_2',
        allowBlobPublicAccess: p.allowBlobPublicAccess ?? false,
        isHnsEnabled: p.isHnsEnabled ?? false,
        encryption: {
          keySource: 'Microsoft.Storage',
          services: {
            blob: { enabled: true, keyType: 'Account', lastEnabledTime: created },
            file: { enabled: true, keyType: 'Account', lastEnabledTime: created },
          },
        },
        ...(p.accessTier
          ? { accessTier: p.accessTier }
          : body.kind === 'StorageV2' || body.kind === 'BlobStorage'
            ? { accessTier: 'Hot' }
            : {}),
      },
    };
    const record: StoredResource = {
      id,
      name,
      type: `${NS}/storageAccounts`,
      resourceGroup: rg,
      etag: '',
      body: doc,
      inputKey,
    };
    if (existing) {
      this.ctx.state.put(record);
      return { status: 200, body: this.render(record) };
    }
    // Storage answers a create with 202 and a Location to poll; the account appears when done.
    const { headers } = this.ctx.startOperation(
      req,
      location,
      'storage',
      {
        onSuccess: () => this.ctx.state.put(record),
        onFailure: () => this.keys.delete(name),
        result: () => this.render(record),
      },
      true,
    );
    return { status: 202, headers };
  }
}
