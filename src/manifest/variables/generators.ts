import { DirectorError } from '../../errors.js';
import { certificateGenerator } from './certificate-generator.js';
import { passwordGenerator } from './password-generator.js';
import { rsaKeyGenerator } from './rsa-key-generator.js';
import { sshKeyGenerator } from './ssh-key-generator.js';
import { userGenerator } from './user-generator.js';
import type { ValueGenerator } from './value-generator.js';

const GENERATORS: ReadonlyMap<string, ValueGenerator> = new Map([
  ['password', passwordGenerator],
  ['certificate', certificateGenerator],
  ['rsa', rsaKeyGenerator],
  ['ssh', sshKeyGenerator],
  ['user', userGenerator],
]);

/** The generator of a variable type (config-server's four, plus CredHub's `user`). */
export function generatorFor(type: string): ValueGenerator {
  const generator = GENERATORS.get(type);
  if (generator === undefined) throw new DirectorError(`Unsupported value type: ${type}`);
  return generator;
}
