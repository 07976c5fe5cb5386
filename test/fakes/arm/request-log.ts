import { appendFileSync, writeFileSync } from 'node:fs';

/** One request as the fake saw it. */
export interface RequestLogEntry {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly apiVersion: string | null;
  readonly status: number;
  readonly durationMs: number;
  /** e.g. 'Microsoft.Compute/virtualMachines', 'Microsoft.Compute/operations', 'auth', 'admin', 'managedIdentity'. */
  readonly resourceType: string;
  /** 'throttle' | 'serverError' | 'lostResponse' when the fault injector answered, 'latency' when it only delayed. */
  readonly fault?: string;
  /** The object id (`oid`) of the principal whose token an ARM request carried. */
  readonly caller?: string;
}

/** Reads and writes per resource type. */
export interface RequestCounter {
  reads: number;
  writes: number;
}

/** Every request as a JSON line in a file, plus in-process counters. */
export class RequestLog {
  readonly path: string;
  private readonly list: RequestLogEntry[] = [];
  private readonly counts = new Map<string, RequestCounter>();

  constructor(path: string) {
    this.path = path;
    writeFileSync(path, '');
  }

  /** Appends one entry (file and memory). */
  record(entry: RequestLogEntry): void {
    this.list.push(entry);
    appendFileSync(this.path, JSON.stringify(entry) + '\n');
    let c = this.counts.get(entry.resourceType);
    if (!c) this.counts.set(entry.resourceType, (c = { reads: 0, writes: 0 }));
    if (entry.method === 'GET' || entry.method === 'HEAD') c.reads++;
    else c.writes++;
  }

  /** A copy of every entry so far. */
  entries(): RequestLogEntry[] {
    return [...this.list];
  }

  /** Reads/writes per resource type so far. */
  counters(): Record<string, RequestCounter> {
    const out: Record<string, RequestCounter> = {};
    for (const [k, v] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) out[k] = { ...v };
    return out;
  }

  /** ARM requests (not auth/admin/managedIdentity) so far. */
  armRequestCount(): number {
    return this.list.filter(
      (e) => e.resourceType !== 'auth' && e.resourceType !== 'admin' && e.resourceType !== 'managedIdentity',
    ).length;
  }
}
