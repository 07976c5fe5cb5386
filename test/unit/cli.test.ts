import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { formatErrorChain, wrap } from '../../src/errors.js';

test('--version prints the version and exits 0', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), '0.1.0');
});

test('error chains print on one line, outermost first', () => {
  const err = wrap('Deploying', wrap("Creating instance 'master/0'", new Error('CPI failed\nwith details')));
  assert.equal(formatErrorChain(err), "Deploying: Creating instance 'master/0': CPI failed with details");
});
