import { randomUUID } from 'node:crypto';
import { ArmError } from './arm-error.js';
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

  /** Marketplace images that carry a purchase plan, by `publisher/offer/sku` (lower case). */
  readonly marketplacePlans = new Map<string, { name: string; product: string; publisher: string }>();
  /** NICs reserved for a VM whose create failed: nic id (lower case) -> VM id and until when (ms). */
  private readonly nicReservations = new Map<string, { vmId: string; until: number }>();

  /** The purchase plan a marketplace image needs, or undefined. */
  marketplacePlan(image: {
    publisher?: string;
    offer?: string;
    sku?: string;
  }): { name: string; product: string; publisher: string } | undefined {
    return this.marketplacePlans.get(`${image.publisher}/${image.offer}/${image.sku}`.toLowerCase());
  }

  /** Real milliseconds for ARM milliseconds (the latency model's scale). */
  scaled(armMs: number): number {
    return armMs * this.operations.config.timeScale;
  }

  /** Reserves a NIC for a VM whose create failed, for 180 s of ARM time. */
  reserveNic(nicId: string, vmId: string): void {
    this.nicReservations.set(nicId.toLowerCase(), { vmId, until: Date.now() + this.scaled(180_000) });
  }

  /**
   * Refuses a NIC still reserved for another VM (by create or update of another VM, or by a
   * delete: `vmId` undefined). Source:
   * https://learn.microsoft.com/troubleshoot/azure/virtual-machines/linux/troubleshoot-vm-deployment-nicreservedforanothervm
   */
  refuseReservedNic(nicId: string, vmId: string | undefined): void {
    const r = this.nicReservations.get(nicId.toLowerCase());
    if (!r) return;
    if (Date.now() >= r.until) {
      this.nicReservations.delete(nicId.toLowerCase());
      return;
    }
    if (vmId !== undefined && vmId.toLowerCase() === r.vmId.toLowerCase()) return;
    throw new ArmError(
      400,
      'NicReservedForAnotherVm',
      `Nic(s) in request is reserved for another Virtual Machine for 180 seconds. Please provide another nic(s) or retry after 180 seconds. Reserved VM: ${r.vmId}`,
    );
  }

  /** The headers of an operation that is already over (Succeeded): a synchronous answer's. */
  finishedOperation(
    req: ProviderRequest,
    location: string,
    style: OperationStyle,
  ): { headers: Record<string, string> } {
    const { op, headers } = this.startOperation(req, location, style, { failWith: undefined }, false);
    op.status = 'Succeeded';
    op.endTime = op.startTime;
    op.finish(true);
    delete headers['Retry-After'];
    return { headers };
  }

  /**
   * Refuses a write to a resource an operation in progress holds (the resource itself, or a VM's
   * NICs during its create/update/delete), or one the fault injector picks: 409
   * AnotherOperationInProgress. Source: ARM RPC async-api-reference.md (a resource with an
   * operation in progress answers 409 Conflict to another mutation) and Network's error text
   * "Another operation on this or dependent resource is in progress".
   */
  refuseBusy(req: ProviderRequest, ids: readonly string[]): void {
    for (const id of ids) {
      const op = this.operations.holding(id);
      if (op) throw anotherOperation(id, op.id);
    }
    if (ids.length && this.faults.conflict(req.method, req.path)) throw anotherOperation(ids[0]!, randomUUID());
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
    const cancelWith = failWith ? undefined : this.faults.canceled(req.method, req.path);
    const op = this.operations.start({
      ...spec,
      ...(failWith ? { failWith } : {}),
      ...(cancelWith ? { cancelWith } : {}),
    });
    const sub = `${this.endpoint}/subscriptions/${this.state.subscriptionId}`;
    const loc = location.toLowerCase().replace(/\s+/g, '');
    const v = encodeURIComponent(req.apiVersion);
    const headers: Record<string, string> = {};
    // Source: ARM RPC async-api-reference.md: 201/202 answers and InProgress polls carry
    // Retry-After, the seconds the client should wait before polling.
    const retry = this.operations.retryAfterSeconds(op);
    if (retry > 0) headers['Retry-After'] = String(retry);
    switch (style) {
      case 'network':
        headers['Azure-AsyncOperation'] =
          `${sub}/providers/Microsoft.Network/locations/${loc}/operations/${op.id}?api-version=${v}`;
        if (withLocation)
          headers['Location'] =
            `${sub}/providers/Microsoft.Network/locations/${loc}/operationResults/${op.id}?api-version=${v}`;
        break;
      case 'compute': {
        const base = `${sub}/providers/Microsoft.Compute/locations/${loc}/operations/${op.id}?p=${randomUUID()}`;
        headers['Azure-AsyncOperation'] = `${base}&api-version=${v}`;
        if (withLocation) headers['Location'] = `${base}&monitor=true&api-version=${v}`;
        break;
      }
      case 'storage':
        headers['Location'] =
          `${sub}/providers/Microsoft.Storage/locations/${loc}/asyncoperations/${op.id}?monitor=true&api-version=${v}`;
        break;
      case 'resources':
        headers['Location'] = `${sub}/operationresults/${op.id}?api-version=${v}`;
        break;
    }
    return { op, headers };
  }
}

function anotherOperation(id: string, opId: string): ArmError {
  return new ArmError(
    409,
    'AnotherOperationInProgress',
    `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${id}/operations/${opId}. Resource: ${id}`,
  );
}
