import { DirectorError } from '../../errors.js';
import type { YamlValue } from '../value.js';
import { GeneratorParams } from './generator-params.js';
import { passwordLength, randomPassword } from './password-generator.js';
import type { ValueGenerator } from './value-generator.js';

/**
 * CredHub's `type: user` (bosh-cli has no such type): `{username, password}`. Options:
 * `username` (default: a random 20-character name) and `length` of the password (default 20,
 * the alphabet of `password`).
 */
export const userGenerator: ValueGenerator = {
  generate(options: YamlValue): Promise<YamlValue> {
    let params: GeneratorParams;
    try {
      params = new GeneratorParams(options, ['username', 'length']);
    } catch (err) {
      throw new DirectorError('Failed to generate user, parameters are invalid', { cause: err });
    }
    const username = params.has('username') ? params.string('username') : randomPassword(20);
    const password = randomPassword(passwordLength(params, 'user'));
    return Promise.resolve(
      new Map<string, YamlValue>([
        ['password', password],
        ['username', username],
      ]),
    );
  },
};
