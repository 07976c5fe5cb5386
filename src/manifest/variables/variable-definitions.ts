import { DirectorError } from '../../errors.js';
import { goTypeName, isArray, isMap } from '../value.js';
import type { YamlValue } from '../value.js';
import type { VariableDefinition } from './variables.js';

function scalarString(v: YamlValue | undefined, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new DirectorError(`Expected '${path}' to be a string, found '${goTypeName(v)}'`);
}

/**
 * The `variables:` section of a document, decoded the way bosh-cli's yaml.Unmarshal into
 * `[]VariableDefinition` does: only `name`, `type` and `options` are read; a document that is
 * not a map has none.
 */
export function variableDefinitions(doc: YamlValue): VariableDefinition[] {
  if (!isMap(doc)) return [];
  const section = doc.get('variables');
  if (section === undefined || section === null) return [];
  if (!isArray(section)) throw new DirectorError(`Expected 'variables' to be a list, found '${goTypeName(section)}'`);
  return section.map((item, i) => {
    if (item === null) return { name: '', type: '', options: null };
    if (!isMap(item)) throw new DirectorError(`Expected 'variables[${i}]' to be a map, found '${goTypeName(item)}'`);
    return {
      name: scalarString(item.get('name'), `variables[${i}].name`),
      type: scalarString(item.get('type'), `variables[${i}].type`),
      options: item.get('options') ?? null,
    };
  });
}
