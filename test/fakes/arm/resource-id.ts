/** The parts of an ARM resource id. */
export interface ResourceIdParts {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** e.g. 'Microsoft.Network'. */
  readonly namespace: string;
  /** e.g. 'virtualNetworks'. */
  readonly type: string;
  readonly name: string;
  /** Child segments, e.g. ['subnets', 'default']. */
  readonly children: readonly string[];
}

/** Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/...]`, or undefined. */
export function parseResourceId(id: string): ResourceIdParts | undefined {
  const s = id.split('/').filter((x) => x !== '');
  if (s.length < 8) return undefined;
  if (
    s[0]!.toLowerCase() !== 'subscriptions' ||
    s[2]!.toLowerCase() !== 'resourcegroups' ||
    s[4]!.toLowerCase() !== 'providers'
  )
    return undefined;
  return {
    subscriptionId: s[1]!,
    resourceGroup: s[3]!,
    namespace: s[5]!,
    type: s[6]!,
    name: s[7]!,
    children: s.slice(8),
  };
}

/** The id of the top-level resource an id (maybe of a child) belongs to. */
export function topLevelId(id: string): string | undefined {
  const p = parseResourceId(id);
  if (!p) return undefined;
  return `/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroup}/providers/${p.namespace}/${p.type}/${p.name}`;
}

/** Case-insensitive id equality, as ARM compares ids. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** ARM's canonical location name: 'West US' -> 'westus'. */
export function normalizeLocation(location: unknown): string {
  return String(location).toLowerCase().replace(/\s+/g, '');
}
