import { MessageChannel, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { DirectorError } from '../errors.js';

/**
 * Calls into an asynchronous client (node-postgres, the Azure Blob SDK) from synchronous code.
 * The state store and the blobstore are synchronous ports (the engine calls them between
 * awaits, and a transaction cannot span an await), but these clients only speak promises. The
 * client lives in a worker thread of its own; `call` posts a request, blocks this thread with
 * Atomics.wait until the worker signals its answer, and takes the answer off the port with
 * receiveMessageOnPort. One worker serves one caller, so a client's session (a PostgreSQL
 * connection with its transactions and advisory locks) belongs to exactly one store.
 */
export class SyncWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private seq = 0;
  private closed = false;

  /** Starts `script` (a module calling `serveSync`) with `data` as its setup. */
  constructor(
    script: URL,
    data: unknown,
    private readonly what: string,
    private readonly timeoutMs = 120_000,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    this.worker = new Worker(script, { workerData: { port: port2, signal: this.signal, data }, transferList: [port2] });
    // Neither the worker nor its port keeps the process alive: a CLI ends when its work does.
    this.worker.unref();
    this.port.unref();
  }

  /** Sends `request` and waits for its answer; a failure in the worker is rethrown here. */
  call<T>(request: object): T {
    if (this.closed) throw new DirectorError(`${this.what} is closed`);
    const id = ++this.seq;
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({ id, request });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port) as { message: Answer } | undefined;
      if (got !== undefined) {
        if (got.message.id !== id) {
          Atomics.store(this.signal, 0, 0); // the answer to a call that timed out: wait on
          continue;
        }
        if (got.message.error !== undefined) throw rebuild(got.message.error);
        return got.message.value as T;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new DirectorError(`${this.what} did not answer within ${Math.round(this.timeoutMs / 1000)} s`);
      Atomics.wait(this.signal, 0, 0, Math.min(left, 1000));
    }
  }

  /** Stops the worker (its client's connections close with it). Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}

interface Answer {
  readonly id: number;
  readonly value?: unknown;
  readonly error?: SerializedError;
}

/** An error as it crosses the thread boundary: its message, its class name and its codes. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly detail?: string;
  readonly constraint?: string;
}

/** An Error carrying what the worker's error carried (PostgreSQL's SQLSTATE `code` included). */
export class WorkerError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = e.name;
    this.code = e.code;
    this.detail = e.detail;
    this.constraint = e.constraint;
  }
}

function rebuild(e: SerializedError): Error {
  return new WorkerError(e);
}

function serialize(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; detail?: unknown; constraint?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.detail === 'string' ? { detail: e.detail } : {}),
    ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
  };
}

/**
 * The worker's side: answers each request with `handle` (one at a time, in order), then wakes
 * the waiting caller. Returns the setup data the caller passed.
 */
export function serveSync<T>(handle: (request: never) => Promise<unknown>): T {
  const { port, signal, data } = workerData as { port: MessagePort; signal: Int32Array; data: T };
  let queue = Promise.resolve();
  const answer = (a: Answer): void => {
    port.postMessage(a);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  port.on('message', (m: { id: number; request: never }) => {
    queue = queue.then(async () => {
      try {
        answer({ id: m.id, value: await handle(m.request) });
      } catch (err) {
        answer({ id: m.id, error: serialize(err) });
      }
    });
  });
  return data;
}
