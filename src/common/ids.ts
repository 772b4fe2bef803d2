const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether a path or query value is a uuid as niix writes them (lower-case hex, 8-4-4-4-12). Checked before a
 * lookup: anything else is simply not found, and never reaches PostgreSQL, which would refuse it with an error.
 */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
