import type { Command } from 'commander';

/** `-e`, `--state` and `--json`, which every environment-scoped command takes. */
export function envOptions(cmd: Command): Command {
  return cmd
    .option('-e, --environment <name>', 'environment name (state under ~/.director/<name>/), or $DIRECTOR_ENVIRONMENT')
    .option(
      '--state <path-or-url>',
      'state file of the environment, or a PostgreSQL database (postgres://user@host:5432/db); or $DIRECTOR_STATE / $DIRECTOR_STATE_URL',
    )
    .option('--json', 'print JSON, as bosh-cli --json does');
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** bosh-cli's gateway flags (ssh, logs): over the environment's recorded gateway. */
export function gatewayOptions(cmd: Command): Command {
  return cmd
    .option('--gw-host <host>', "reach the VM through this SSH gateway (its host key must be the recorded gateway's)")
    .option('--gw-user <user>', 'user on the gateway')
    .option('--gw-private-key <path>', 'private key file to log in to the gateway with')
    .option('--gw-disable', "dial the VM directly, without the environment's gateway");
}

export interface GatewayFlagValues {
  readonly gwHost?: string;
  readonly gwUser?: string;
  readonly gwPrivateKey?: string;
  readonly gwDisable?: boolean;
}

/** The variable and ops-file flags of bosh-cli (`int`, `create-env`, `deploy`). */
export function varOptions(cmd: Command): Command {
  return cmd
    .option('-o, --ops-file <path>', 'ops-file to apply (repeatable, in order)', collect, [])
    .option('-v, --var <key=value>', 'set a variable (repeatable)', collect, [])
    .option('--var-file <key=path>', "set a variable to a file's content (repeatable)", collect, [])
    .option('-l, --vars-file <path>', 'load variables from a YAML file (repeatable)', collect, [])
    .option('--vars-env <prefix>', 'load variables from environment variables PREFIX_name (repeatable)', collect, [])
    .option('--vars-store <path>', 'load and save generated variables to a YAML file');
}

export interface VarFlagValues {
  readonly opsFile: string[];
  readonly var: string[];
  readonly varFile: string[];
  readonly varsFile: string[];
  readonly varsEnv: string[];
  readonly varsStore?: string;
}
