import { DirectorError } from '../src/errors.js';

/**
 * Why a CPI call failed, as the director needs to tell it apart (the BOSH `Bosh::Clouds::*`
 * error classes, flattened):
 * - `NotFound`: the VM, disk, snapshot or stemcell named in the call does not exist
 *   (`VMNotFound`, `DiskNotFound`); `resource` says which.
 * - `VmCreationFailed`: the IaaS could not create the VM; nothing was left behind. `okToRetry`
 *   says whether the same call may succeed again (BOSH `VMCreationFailed#ok_to_retry`).
 * - `DiskNotAttached`: detach of a disk that is not attached to that VM (the director treats it
 *   as already done, as BOSH does).
 * - `NoDiskSpace`: the IaaS has no room for the disk (`NoDiskSpace`).
 * - `Throttled`: the IaaS asked us to slow down (HTTP 429 / Retry-After); always `okToRetry`.
 * - `InvalidCloudProperties`: cloud properties, networks or env the CPI cannot use; the message
 *   names the property. Never ok to retry.
 * - `NotImplemented`: the CPI does not support the method (`NotImplemented`).
 * - `Unknown`: anything else (`CloudError`).
 */
export type CpiErrorKind =
  | 'NotFound'
  | 'VmCreationFailed'
  | 'DiskNotAttached'
  | 'NoDiskSpace'
  | 'Throttled'
  | 'InvalidCloudProperties'
  | 'NotImplemented'
  | 'Unknown';

/** The kind of resource a `NotFound` error is about. */
export type CpiResource = 'vm' | 'disk' | 'snapshot' | 'stemcell' | 'load_balancer';

/** The BOSH CPI method names, as they appear in errors and logs (`CPI 'create_vm' ...`). */
export type CpiMethod =
  | 'info'
  | 'create_stemcell'
  | 'delete_stemcell'
  | 'create_vm'
  | 'delete_vm'
  | 'has_vm'
  | 'reboot_vm'
  | 'set_vm_metadata'
  | 'create_disk'
  | 'delete_disk'
  | 'attach_disk'
  | 'detach_disk'
  | 'has_disk'
  | 'get_disks'
  | 'resize_disk'
  | 'snapshot_disk'
  | 'delete_snapshot';

export interface CpiErrorOptions {
  readonly okToRetry?: boolean;
  readonly resource?: CpiResource;
  readonly cause?: unknown;
}

/**
 * The one error every CPI method rejects with. Each CPI builds it in exactly one mapper from
 * whatever its IaaS threw. The message never contains secrets (keys, passwords).
 */
export class CpiError extends DirectorError {
  readonly method: CpiMethod;
  readonly kind: CpiErrorKind;
  readonly okToRetry: boolean;
  readonly resource: CpiResource | undefined;
  /** What the IaaS said, without the "CPI 'x' ..." prefix. */
  readonly detail: string;

  constructor(method: CpiMethod, kind: CpiErrorKind, detail: string, options: CpiErrorOptions = {}) {
    super(
      `CPI '${method}' responded with ${kind} error: ${detail}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'CpiError';
    this.method = method;
    this.kind = kind;
    this.okToRetry = options.okToRetry ?? kind === 'Throttled';
    this.resource = options.resource;
    this.detail = detail;
  }
}

/** True when `err` is a CpiError of `kind` (and, if given, about `resource`). */
export function isCpiError(err: unknown, kind?: CpiErrorKind, resource?: CpiResource): err is CpiError {
  return (
    err instanceof CpiError &&
    (kind === undefined || err.kind === kind) &&
    (resource === undefined || err.resource === resource)
  );
}

/**
 * A failure a CPI detected itself, already knowing its kind; each CPI's error mapper turns it
 * into the CpiError of the method that failed.
 */
export class CpiFault extends Error {
  constructor(
    readonly kind: CpiErrorKind,
    message: string,
    readonly resource?: CpiResource,
    readonly okToRetry?: boolean,
  ) {
    super(message);
    this.name = 'CpiFault';
  }
}

/** `NotFound` for a resource, in one wording for every CPI. */
export function notFound(resource: CpiResource, cid: string): CpiFault {
  const noun = { vm: 'VM', disk: 'Disk', snapshot: 'Snapshot', stemcell: 'Stemcell', load_balancer: 'Load balancer' }[
    resource
  ];
  return new CpiFault('NotFound', `${noun} '${cid}' not found`, resource);
}
