// The subset of the pgpass module (no published types) that the PostgreSQL worker uses.
declare module 'pgpass' {
  /** Looks the password for `connInfo` (host, port, database, user) up in ~/.pgpass or $PGPASSFILE. */
  function pgpass(connInfo: object, cb: (password: string | undefined) => void): void;
  export = pgpass;
}
