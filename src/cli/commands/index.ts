import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { registerDeployment } from './deployment.js';
import { registerEnvironment } from './environment.js';
import { registerHousekeeping } from './housekeeping.js';
import { registerInterpolate } from './interpolate.js';
import { registerLifecycle } from './lifecycle.js';
import { registerState } from './state.js';
import { registerTasks } from './tasks.js';

/** Each command file exports one `register` function; this list is the CLI's table of contents. */
export type RegisterCommand = (program: Command, io: CliIo) => void;

export const commands: readonly RegisterCommand[] = [
  registerInterpolate,
  registerEnvironment,
  registerDeployment,
  registerLifecycle,
  registerTasks,
  registerHousekeeping,
  registerState,
];
