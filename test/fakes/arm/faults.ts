import { seededRandom, type SeededRandom } from './seeded-random.js';

/** What the fake does wrong on purpose, each by rate (0..1) drawn from a seeded RNG. */
export interface FaultConfig {
  /** Seed of the RNG; setting it restarts the sequence. */
  readonly seed: number;
  /** Rate of 429 TooManyRequests answers (before the request has any effect). */
  readonly throttleRate: number;
  /** Retry-After (seconds) sent with a 429. */
  readonly throttleRetryAfterSeconds: number;
  /** Rate of 5xx answers (before the request has any effect). */
  readonly serverErrorRate: number;
  /** Statuses a 5xx fault picks from, uniformly. */
  readonly serverErrorStatuses: readonly number[];
  /**
   * Rate of writes (PUT/PATCH/POST/DELETE) that take effect but whose answer is lost: the client
   * sees a 500 and must cope with a request that did happen (retry, idempotent PUT).
   */
  readonly lostResponseRate: number;
  /** Rate of long-running operations that end with status Failed. */
  readonly asyncFailureRate: number;
  /** The error a failed long-running operation reports. */
  readonly asyncFailure: { readonly code: string; readonly message: string };
  /**
   * Rate of writes to a VM, NIC, load balancer or security group answered 409
   * AnotherOperationInProgress before any effect (as when another client's operation holds it).
   */
  readonly conflictRate: number;
  /** Rate of long-running operations that end Canceled (OperationPreempted), their effect undone. */
  readonly canceledRate: number;
  /** Rate of requests delayed by `latencyMs`. */
  readonly latencyRate: number;
  readonly latencyMs: number;
}

/** A fault forced on the next matching request(s), whatever the rates say. */
export interface ScriptedFault {
  readonly kind: 'throttle' | 'serverError' | 'asyncFailure' | 'latency' | 'lostResponse' | 'conflict' | 'canceled';
  /** Only requests with this method (e.g. 'PUT'). */
  readonly method?: string;
  /** Only requests whose path contains this (case-insensitive). */
  readonly pathIncludes?: string;
  /** How many requests it applies to (default 1). */
  readonly count?: number;
  /** For serverError: the status (default 503). */
  readonly status?: number;
}

/** The fault a request gets, decided once per request. */
export interface FaultDecision {
  readonly throttle: boolean;
  readonly serverError?: number;
  readonly latencyMs: number;
}

export const DEFAULT_FAULTS: FaultConfig = {
  seed: 1,
  throttleRate: 0,
  throttleRetryAfterSeconds: 1,
  serverErrorRate: 0,
  serverErrorStatuses: [500, 503],
  lostResponseRate: 0,
  asyncFailureRate: 0,
  asyncFailure: {
    code: 'InternalExecutionError',
    message: 'An internal execution error occurred. Please retry later.',
  },
  latencyRate: 0,
  latencyMs: 200,
  conflictRate: 0,
  canceledRate: 0,
};

/** The fault injector: configured at start, changeable at runtime (in-process or via the admin endpoint). */
export class Faults {
  private config: FaultConfig;
  private rng: SeededRandom;
  private scripted: { fault: ScriptedFault; left: number }[] = [];

  constructor(config: Partial<FaultConfig> = {}) {
    this.config = { ...DEFAULT_FAULTS, ...config };
    this.rng = seededRandom(this.config.seed);
  }

  /** The current configuration. */
  get(): FaultConfig {
    return this.config;
  }

  /** Changes part of the configuration; a new `seed` restarts the RNG. */
  set(change: Partial<FaultConfig>): FaultConfig {
    this.config = { ...this.config, ...change };
    if (change.seed !== undefined) this.rng = seededRandom(change.seed);
    return this.config;
  }

  /** Forces a fault on the next matching request(s). */
  enqueue(fault: ScriptedFault): void {
    this.scripted.push({ fault, left: fault.count ?? 1 });
  }

  /** Drops every scripted fault and sets all rates to 0. */
  clear(): void {
    this.scripted = [];
    this.set({
      throttleRate: 0,
      serverErrorRate: 0,
      asyncFailureRate: 0,
      latencyRate: 0,
      lostResponseRate: 0,
      conflictRate: 0,
      canceledRate: 0,
    });
  }

  private takeScripted(kind: ScriptedFault['kind'], method: string, path: string): ScriptedFault | undefined {
    const lower = path.toLowerCase();
    const i = this.scripted.findIndex(
      (s) =>
        s.fault.kind === kind &&
        (!s.fault.method || s.fault.method.toUpperCase() === method) &&
        (!s.fault.pathIncludes || lower.includes(s.fault.pathIncludes.toLowerCase())),
    );
    if (i < 0) return undefined;
    const s = this.scripted[i]!;
    if (--s.left <= 0) this.scripted.splice(i, 1);
    return s.fault;
  }

  /** Decides the request-level faults (latency, 429, 5xx) for one request. */
  decide(method: string, path: string): FaultDecision {
    const c = this.config;
    const latency = this.takeScripted('latency', method, path) !== undefined || this.rng.chance(c.latencyRate);
    const throttle = this.takeScripted('throttle', method, path) !== undefined || this.rng.chance(c.throttleRate);
    let serverError: number | undefined;
    if (!throttle) {
      const s = this.takeScripted('serverError', method, path);
      if (s) serverError = s.status ?? 503;
      else if (this.rng.chance(c.serverErrorRate)) {
        const list = c.serverErrorStatuses.length ? c.serverErrorStatuses : [500];
        serverError = list[Math.floor(this.rng.next() * list.length)] ?? 500;
      }
    }
    return { throttle, latencyMs: latency ? c.latencyMs : 0, ...(serverError !== undefined ? { serverError } : {}) };
  }

  /** Decides whether the answer to a write that took effect is replaced by a 500. */
  lostResponse(method: string, path: string): boolean {
    if (method === 'GET' || method === 'HEAD') return false;
    return (
      this.takeScripted('lostResponse', method, path) !== undefined || this.rng.chance(this.config.lostResponseRate)
    );
  }

  /** Decides whether a write is refused with 409 AnotherOperationInProgress. */
  conflict(method: string, path: string): boolean {
    if (method === 'GET' || method === 'HEAD') return false;
    return this.takeScripted('conflict', method, path) !== undefined || this.rng.chance(this.config.conflictRate);
  }

  /** Decides whether a long-running operation started by this request ends Canceled. */
  canceled(method: string, path: string): { code: string; message: string } | undefined {
    if (this.takeScripted('canceled', method, path) !== undefined || this.rng.chance(this.config.canceledRate)) {
      return {
        code: 'OperationPreempted',
        message: 'Operation execution has been preempted by a more recent operation.',
      };
    }
    return undefined;
  }

  /** Decides whether a long-running operation started by this request ends Failed. */
  asyncFailure(method: string, path: string): { code: string; message: string } | undefined {
    if (
      this.takeScripted('asyncFailure', method, path) !== undefined ||
      this.rng.chance(this.config.asyncFailureRate)
    ) {
      return this.config.asyncFailure;
    }
    return undefined;
  }
}
