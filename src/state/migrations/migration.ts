/**
 * One step of the state schema. Migrations are applied in `version` order, each in its own
 * transaction, and recorded in `schema_migrations`; a released migration is never edited, a
 * change is a new file.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
