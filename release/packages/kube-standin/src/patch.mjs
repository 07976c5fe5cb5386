// The three PATCH bodies kubectl sends: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
// Kubernetes' strategic merge patch (lists of objects merged by their merge key, the $patch,
// $retainKeys, $setElementOrder and $deleteFromPrimitiveList directives; see
// community/contributors/devel/sig-api-machinery/strategic-merge-patch.md). The merge keys are
// those the Go types declare (patchMergeKey) for the fields of the resources this stand-in serves.

export class PatchError extends Error {}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target, patch) {
  if (!isObject(patch)) return clone(patch);
  const out = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const unescapePointer = (s) => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** RFC 6902 on a copy of `doc`. */
export function jsonPatch(doc, ops) {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations');
  let root = clone(doc);
  const locate = (path) => {
    if (typeof path !== 'string' || (path !== '' && !path.startsWith('/')))
      throw new PatchError(`invalid path '${path}'`);
    const tokens = path === '' ? [] : path.slice(1).split('/').map(unescapePointer);
    let parent = null;
    let cur = root;
    for (const t of tokens.slice(0, -1)) {
      parent = cur;
      cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
      if (cur === undefined) throw new PatchError(`path '${path}': '${t}' not found`);
    }
    void parent;
    return { container: cur, last: tokens.at(-1) };
  };
  const get = (path) => {
    if (path === '') return root;
    const { container, last } = locate(path);
    const v = Array.isArray(container) ? container[Number(last)] : isObject(container) ? container[last] : undefined;
    if (v === undefined) throw new PatchError(`path '${path}' not found`);
    return v;
  };
  const add = (path, value) => {
    if (path === '') return void (root = value);
    const { container, last } = locate(path);
    if (Array.isArray(container)) {
      const i = last === '-' ? container.length : Number(last);
      if (!(i >= 0 && i <= container.length)) throw new PatchError(`path '${path}': index out of range`);
      container.splice(i, 0, value);
    } else if (isObject(container)) container[last] = value;
    else throw new PatchError(`path '${path}': parent is not a container`);
  };
  const remove = (path) => {
    const { container, last } = locate(path);
    get(path);
    if (Array.isArray(container)) container.splice(Number(last), 1);
    else delete container[last];
  };
  for (const op of ops) {
    switch (op?.op) {
      case 'add':
        add(op.path, clone(op.value));
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'replace':
        get(op.path);
        if (op.path === '') root = clone(op.value);
        else {
          remove(op.path);
          add(op.path, clone(op.value));
        }
        break;
      case 'move': {
        const v = get(op.from);
        remove(op.from);
        add(op.path, v);
        break;
      }
      case 'copy':
        add(op.path, clone(get(op.from)));
        break;
      case 'test':
        if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value))
          throw new PatchError(`test at '${op.path}' failed`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation '${op?.op}'`);
    }
  }
  return root;
}

// patchMergeKey of list fields (k8s.io/api core/v1 and apps/v1 types). `ports` is the container
// port list (containerPort) in a pod and the service port list (port) in a service.
const MERGE_KEYS = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  addresses: 'type',
  taints: 'key',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  podIPs: 'ip',
  secrets: 'name',
};
// lists of scalars with patchStrategy merge
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function mergeKeyOf(field, list) {
  if (field === 'ports') return list.some((e) => isObject(e) && 'containerPort' in e) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

/** Kubernetes' strategic merge patch of `original` by `patch` (both plain JSON values). */
export function strategicMergePatch(original, patch) {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch, ...rest } = patch;
    void $patch;
    return strategicMergePatch({}, rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out = isObject(original) ? clone(original) : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys) : null;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((e) => !v.includes(e));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = mergeList(k, out[k], v);
      continue;
    }
    const merged = strategicMergePatch(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}

function mergeList(field, original, patch) {
  if (MERGED_SCALAR_LISTS.has(field)) {
    const out = Array.isArray(original) ? [...original] : [];
    for (const e of patch) if (!out.includes(e)) out.push(e);
    return out;
  }
  const key = mergeKeyOf(field, patch.concat(Array.isArray(original) ? original : []));
  const replace = patch.find((e) => isObject(e) && e.$patch === 'replace');
  if (!key || replace || !patch.every(isObject))
    return clone(patch.filter((e) => !(isObject(e) && e.$patch === 'replace')));
  const out = Array.isArray(original) ? clone(original) : [];
  for (const e of patch) {
    const i = out.findIndex((o) => isObject(o) && o[key] === e[key]);
    if (e.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], e);
    else out.push(strategicMergePatch({}, e));
  }
  return out;
}
