import { randomUUID } from 'node:crypto';
import type { ArmState, Json } from './arm-state.js';
import type { Faults } from './faults.js';
import type { Operation, OperationSpec, Operations } from './operations.js';
import type { VmHooks } from './vm-hooks.js';

/** One answer of the fake. */
export interface ArmResponse {
  readonly status: number;
  readonly body?: Json;
  readonly headers?: Record<string, string>;
}

/** A request routed to a resource provider. */
export interface ProviderRequest {
  readonly method: string;
  /** The request path (no query). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly apiVersion: string;
  readonly resourceGroup: string;
  /** e.g. 'virtualMachines' (as sent). */
  readonly resourceType: string;
  /** Name of the top-level resource; undefined for a list. */
  readonly name: string | undefined;
  /** Segments after the name: ['subnets', 'default'], ['restart'], ... */
  readonly rest: readonly string[];
  readonly body: Json;
}

/** How the async-operation headers of a provider look (each RP has its own URL shapes). */
export type OperationStyle = 'network' | 'compute' | 'storage' | 'resources';

/** Everything a resource provider needs from the server. */
export class ArmContext {
  readonly state: ArmState;
  readonly operations: Operations;
  readonly faults: Faults;
  readonly hooks: VmHooks;
  /** e.g. https://127.0.0.1:12345 */
  readonly endpoint: string;
  /** Storage endpoint for an account (defaults to the public-cloud one). */
  readonly blobEndpoint: (account: string) => string;

  constructor(init: {
    state: ArmState;
    operations: Operations;
    faults: Faults;
    hooks: VmHooks;
    endpoint: string;
    blobEndpoint: (account: string) => string;
  }) {
    this.state = init.state;
    this.operations = init.operations;
    this.faults = init.faults;
    this.hooks = init.hooks;
    this.endpoint = init.endpoint;
    this.blobEndpoint = init.blobEndpoint;
  }

  /** A fresh weak etag the way Network writes them. */
  static networkEtag(): string {
    return `W/"${randomUUID()}"`;
  }

  /**
   * Starts a long-running operation for `req` and returns the headers ARM sends with the
   * 201/202: Azure-AsyncOperation and/or Location in the URL shape of the provider, Retry-After.
   * An injected async failure (by rate) replaces the outcome.
   */
  startOperation(
    req: ProviderRequest,
    location: string,
    style: OperationStyle,
    spec: OperationSpec,
    withLocation: boolean,
  ): { op: Operation; headers: Record<string, string> } {
    const failWith = spec.failWith ?? this.faults.asyncFailure(req.method, req.path);
    const op = this.operations.start({ ...spec, ...(failWith ? { failWith } : {}) });
    const sub = `${this.endpoint}/subscriptions/${this.state.subscriptionId}`;
    const loc = location.toLowerCase().replace(/\s+/g, '');
    const v = encodeURIComponent(req.apiVersion);
    const headers: Record<string, string> = {};
    const retry = this.operations.config.retryAfterSeconds;
    if (retry > 0) headers['Retry-After'] = String(retry);
    switch (style) {
      case 'network':
        headers['Azure-AsyncOperation'] = `${sub}/providers/Microsoft.Network/locations/${loc}/operations/${op.id}?api-version=${v}`;
        if (withLocation) headers['Location'] = `${sub}/providers/Microsoft.Network/locations/${loc}/operationResults/${op.id}?api-version=${v}`;
        break;
      case 'compute': {
        const base = `${sub}/providers/Microsoft.Compute/locations/${loc}/operations/${op.id}?p=${randomUUID()}`;
        headers['Azure-AsyncOperation'] = `${base}&api-version=${v}`;
        if (withLocation) headers['Location'] = `${base}&monitor=true&api-version=${v}`;
        break;
      }
      case 'storage':
        headers['Location'] = `${sub}/providers/Microsoft.Storage/locations/${loc}/asyncoperations/${op.id}?monitor=true&api-version=${v}`;
        break;
      case 'resources':
        headers['Location'] = `${sub}/operationresults/${op.id}?api-version=${v}`;
        break;
    }
    return { op, headers };
  }
}
