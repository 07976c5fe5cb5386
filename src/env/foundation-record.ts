import type { JsonObject } from '../state/index.js';

/**
 * The key of the recorded CPI properties under which create-env keeps the ids of the foundation
 * resources it created (a manifest never sets it): delete-env removes exactly those.
 */
export const FOUNDATION_RECORD_KEY = 'foundation_created';

/** The foundation ids recorded in CPI properties (none when the key is absent or malformed). */
export function recordedFoundation(cpiProperties: JsonObject): readonly string[] {
  const v = cpiProperties[FOUNDATION_RECORD_KEY];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** CPI properties as the manifest wrote them, without what create-env recorded in them. */
export function manifestProperties(cpiProperties: JsonObject): JsonObject {
  const { [FOUNDATION_RECORD_KEY]: _recorded, ...rest } = cpiProperties;
  void _recorded;
  return rest;
}

/** The CPI properties with `ids` added to the recorded foundation (order kept, no duplicates). */
export function withRecordedFoundation(cpiProperties: JsonObject, ids: readonly string[]): JsonObject {
  const all = [...recordedFoundation(cpiProperties)];
  for (const id of ids) if (!all.some((a) => a.toLowerCase() === id.toLowerCase())) all.push(id);
  return { ...cpiProperties, [FOUNDATION_RECORD_KEY]: all };
}
