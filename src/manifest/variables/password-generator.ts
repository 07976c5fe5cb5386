import { randomInt } from 'node:crypto';
import { DirectorError } from '../../errors.js';
import type { YamlValue } from '../value.js';
import { GeneratorParams } from './generator-params.js';
import type { ValueGenerator } from './value-generator.js';

/** config-server's alphabet and default length. */
export const PASSWORD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const DEFAULT_PASSWORD_LENGTH = 20;

/** A uniformly random string over `PASSWORD_ALPHABET` (crypto-grade, no modulo bias). */
export function randomPassword(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/** Reads the `length` option: 0 or absent means the default, negative is an error. */
export function passwordLength(params: GeneratorParams, what: string): number {
  const length = params.integer('length');
  if (length < 0) throw new DirectorError(`Failed to generate ${what}, 'length' param cannot be negative`);
  return length === 0 ? DEFAULT_PASSWORD_LENGTH : length;
}

/** `type: password` — options: `length` (default 20); the value is a string of [a-z0-9]. */
export const passwordGenerator: ValueGenerator = {
  generate(options: YamlValue): Promise<YamlValue> {
    let params: GeneratorParams;
    try {
      params = new GeneratorParams(options, ['length']);
    } catch (err) {
      throw new DirectorError('Failed to generate password, parameters are invalid', { cause: err });
    }
    return Promise.resolve(randomPassword(passwordLength(params, 'password')));
  },
};
