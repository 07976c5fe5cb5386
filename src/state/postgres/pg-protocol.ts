/** What the PostgreSQL store asks of its worker thread (pg-worker.ts). */
export type PgRequest =
  | { readonly op: 'connect' }
  /** One or more statements without parameters (DDL, BEGIN/COMMIT). */
  | { readonly op: 'exec'; readonly text: string }
  /** One statement with `$n` parameters; `name` prepares it once per connection. */
  | {
      readonly op: 'query';
      readonly text: string;
      readonly values: readonly unknown[];
      readonly name?: string;
      readonly savepoint: boolean;
    }
  | { readonly op: 'close' };

export interface PgResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number;
}

/** The connection settings node-postgres takes (password, when known, included). */
export interface PgSetup {
  readonly config: {
    readonly connectionString: string;
    readonly password?: string;
    readonly application_name: string;
    readonly connectionTimeoutMillis: number;
  };
}
