import type { JsonObject } from '../src/state/index.js';

/** CPI properties as the environment records them. */
export type CpiProperties = JsonObject;

/**
 * The key of the recorded CPI properties under which create-env keeps the ids of the foundation
 * resources it created (a manifest never sets it): delete-env removes exactly those.
 */
export const FOUNDATION_RECORD_KEY = 'foundation_created';

/**
 * The key under which create-env records a foundation resource *before* the request that creates
 * it (an intent), so that a run killed during that request leaks nothing: delete-env removes
 * intended resources too (deleting what was never made is fine), and a later successful run,
 * which finds them made, records them as created and clears the intents. An intent is never
 * trusted as "exists" (recorded containers are).
 */
export const FOUNDATION_INTENT_KEY = 'foundation_intended';

/**
 * The key under which create-env records the foundation's public addresses, by what holds them
 * (a load balancer's name; `jumpbox`): the kubeconfig's server is the load balancer's.
 */
export const FOUNDATION_ADDRESSES_KEY = 'foundation_addresses';

/** The keys create-env records in CPI properties; a manifest cannot set them. */
export const RECORDED_KEYS = [FOUNDATION_RECORD_KEY, FOUNDATION_INTENT_KEY, FOUNDATION_ADDRESSES_KEY] as const;

/** The foundation ids recorded in CPI properties (none when the key is absent or malformed). */
export function recordedFoundation(
  cpiProperties: JsonObject,
  key: typeof FOUNDATION_RECORD_KEY | typeof FOUNDATION_INTENT_KEY = FOUNDATION_RECORD_KEY,
): readonly string[] {
  const v = cpiProperties[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** What create-env recorded in CPI properties (created and intended ids), to carry into new properties. */
export function recordedPart(cpiProperties: JsonObject): JsonObject {
  return Object.fromEntries(
    RECORDED_KEYS.filter((key) => cpiProperties[key] !== undefined).map((key) => [key, cpiProperties[key]!]),
  );
}

/** CPI properties as the manifest wrote them, without what create-env recorded in them. */
export function manifestProperties(cpiProperties: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.entries(cpiProperties).filter(([k]) => !(RECORDED_KEYS as readonly string[]).includes(k)),
  );
}

/** The CPI properties with `ids` added to the recorded foundation (order kept, no duplicates). */
export function withRecordedFoundation(
  cpiProperties: JsonObject,
  ids: readonly string[],
  key: typeof FOUNDATION_RECORD_KEY | typeof FOUNDATION_INTENT_KEY = FOUNDATION_RECORD_KEY,
): JsonObject {
  const all = [...recordedFoundation(cpiProperties, key)];
  for (const id of ids) if (!all.some((a) => a.toLowerCase() === id.toLowerCase())) all.push(id);
  return { ...cpiProperties, [key]: all };
}

/** After a successful run: every intent is a resource that exists and was made by a run of ours; record it as created. */
export function withIntentsSettled(cpiProperties: JsonObject): JsonObject {
  const intended = recordedFoundation(cpiProperties, FOUNDATION_INTENT_KEY);
  const { [FOUNDATION_INTENT_KEY]: _intended, ...rest } = withRecordedFoundation(cpiProperties, intended);
  void _intended;
  return rest;
}
