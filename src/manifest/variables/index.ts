/** The variables stage of `int`/`deploy`: `((name))` interpolation, variable sources, generation. */
export { evaluateTemplate } from './template.js';
export type { EvaluateOptions } from './template.js';
export { varsFromFlags, parseVarKV, readVarFile, readVarsFile, varsFromEnv, expandPath } from './var-flags.js';
export type { VarFlags } from './var-flags.js';
export { StaticVariables } from './static-variables.js';
export { FileVarsStore } from './file-vars-store.js';
export { MemoryVariableStore } from './memory-variable-store.js';
export { interpolate, referencedNames, isWholeReference } from './interpolation.js';
export { variableDefinitions } from './variable-definitions.js';
export { generatorFor } from './generators.js';
export { CERTIFICATE_KEY_LENGTHS, DEFAULT_CERTIFICATE_KEY_LENGTH } from './key-lengths.js';
export type { VariableDefinition, VariableStore, Variables } from './variables.js';
