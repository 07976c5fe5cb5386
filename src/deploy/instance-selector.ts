import { DirectorError } from '../errors.js';
import type { InstanceRecord } from '../state/index.js';

/** What a lifecycle command acts on: the whole deployment, a group, or one instance. */
export type InstanceSelector =
  | { readonly kind: 'all' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'index'; readonly group: string; readonly index: number }
  | { readonly kind: 'uuid'; readonly group: string; readonly uuid: string };

/** Parses bosh-cli's instance slug: `master`, `master/0` or `master/<uuid>`; none is the whole deployment. */
export function parseInstanceSelector(slug: string | undefined): InstanceSelector {
  if (slug === undefined || slug === '') return { kind: 'all' };
  const parts = slug.split('/');
  if (parts.length > 2 || !parts[0] || (parts.length === 2 && !parts[1])) {
    throw new DirectorError(
      `Expected an instance group 'NAME', or an instance 'NAME/INDEX' or 'NAME/ID', found '${slug}'`,
    );
  }
  const [group, id] = parts as [string, string | undefined];
  if (id === undefined) return { kind: 'group', group };
  if (/^\d+$/.test(id)) return { kind: 'index', group, index: Number(id) };
  return { kind: 'uuid', group, uuid: id };
}

/** The recorded instances a selector names; naming nothing that exists is an error. */
export function selectInstances(
  all: readonly InstanceRecord[],
  sel: InstanceSelector,
  deployment: string,
): InstanceRecord[] {
  const picked = all.filter((i) => {
    switch (sel.kind) {
      case 'all':
        return true;
      case 'group':
        return i.group === sel.group;
      case 'index':
        return i.group === sel.group && i.index === sel.index;
      case 'uuid':
        return i.group === sel.group && i.uuid === sel.uuid;
    }
  });
  if (picked.length === 0 && sel.kind !== 'all') {
    throw new DirectorError(
      `No instance '${formatSelector(sel)}' in deployment '${deployment}' (groups: ${[...new Set(all.map((i) => i.group))].join(', ') || 'none'})`,
    );
  }
  return picked;
}

export function formatSelector(sel: InstanceSelector): string {
  switch (sel.kind) {
    case 'all':
      return '*';
    case 'group':
      return sel.group;
    case 'index':
      return `${sel.group}/${sel.index}`;
    case 'uuid':
      return `${sel.group}/${sel.uuid}`;
  }
}
