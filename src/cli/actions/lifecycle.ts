import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectorError, formatErrorChain } from '../../errors.js';
import { toPlain } from '../../manifest/value.js';
import { parseYaml } from '../../manifest/yaml.js';
import { resolveProblems, scanForProblems, type Problem } from '../../deploy/cloud-check.js';
import { deleteDeployment } from '../../deploy/delete-deployment.js';
import { runErrand } from '../../deploy/errand.js';
import { formatSelector, parseInstanceSelector, selectInstances } from '../../deploy/instance-selector.js';
import { formatKubeconfig, kubeconfigParts } from '../../deploy/kubeconfig.js';
import { recreateInstances, restartInstances, startInstances, stopInstances } from '../../deploy/lifecycle.js';
import { parseUpdateOverrides } from '../../deploy/schedule.js';
import { execOnVm, shellOnVm, type VmEndpoint } from '../../agent-client/vm-shell.js';
import { gatewayFor } from '../../env/gateway.js';
import type { GatewayFlagValues } from '../commands/options.js';
import { deploymentLock, type InstanceRecord, type StateStore } from '../../state/index.js';
import { environmentCpi, stateDir, systemClock, type EnvOptions } from '../context.js';
import type { CliIo } from '../io.js';
import { formatTime, listingsJson, printListings, renderTable, type Listing } from '../table.js';
import { runTask } from '../task-runner.js';
import { collected, prefixedLines } from '../prefixed.js';
import { vitalsCells, VITALS_HEADER } from '../vitals.js';
import { confirm, deploymentName, gatewayFlagsOf, services } from './deployment.js';
import { answerOf, processState } from './agent-state.js';
import { instanceLabel } from '../../plan/instance-plan.js';

type DeploymentFlags = EnvOptions & { deployment?: string; nonInteractive?: boolean; json?: boolean };

function liveVm(store: StateStore, uuid: string) {
  return store.vms.listByInstance(uuid).find((v) => v.state === 'created' && v.cid);
}

function requireDeployment(store: StateStore, name: string): void {
  if (!store.deployments.get(name)) throw new DirectorError(`Deployment '${name}' does not exist`);
}

// ---- listings -------------------------------------------------------------------------------

export const instances =
  (io: CliIo) =>
  async (o: DeploymentFlags & { ps?: boolean; details?: boolean; failing?: boolean; vitals?: boolean }) => {
    const s = await services(io, o);
    try {
      const names = o.deployment ? [o.deployment] : s.store.deployments.list().map((d) => d.name);
      if (o.deployment) requireDeployment(s.store, o.deployment);
      const listings: Listing[] = [];
      for (const name of names) {
        const rows: Record<string, string>[] = [];
        const all = s.store.instances.list(name);
        const states = await Promise.all(
          all.map(async (i) => {
            const vm = liveVm(s.store, i.uuid);
            return vm?.hostPublicKey && vm.ips[0]
              ? answerOf(() =>
                  s.agents
                    .agent({
                      address: vm.ips[0]!,
                      hostPublicKey: vm.hostPublicKey!,
                      agentId: vm.agentId,
                      instance: instanceLabel(i),
                    })
                    .getState({ vitals: Boolean(o.vitals) }),
                )
              : undefined;
          }),
        );
        let shown = 0;
        all.forEach((i, n) => {
          const vm = liveVm(s.store, i.uuid);
          const answer = states[n];
          const st = answer && 'state' in answer ? answer.state : undefined;
          // -f: bosh-cli's failing instances, those whose processes are not all running.
          if (o.failing && st?.state === 'running') return;
          shown++;
          const ips = s.store.ips.list({ deployment: name, instance: i.uuid }).map((r) => r.ip);
          const disks = s.store.disks.listByInstance(i.uuid).filter((d) => d.cid && d.state !== 'orphaned');
          rows.push({
            instance: `${i.group}/${i.uuid}`,
            process: '',
            process_state: vm ? (answer ? processState(answer) : 'unresponsive agent') : '',
            az: i.az ?? '',
            ips: vm ? ips.join('\n') : '',
            state: i.state,
            vm_cid: vm?.cid ?? '',
            vm_type: String(i.desiredSpec?.['vm_type'] ?? ''),
            disk_cids: disks.map((d) => d.cid).join('\n'),
            agent_id: vm?.agentId ?? '',
            index: String(i.index),
            bootstrap: String(i.bootstrap),
            ignore: 'false',
            ...(o.vitals ? { vm_created_at: vm ? formatTime(vm.createdAt) : '', ...vitalsCells(st?.vitals) } : {}),
          });
          if (o.ps && st) {
            for (const j of st.jobs)
              for (const p of j.processes) rows.push({ instance: '~', process: p.name, process_state: p.state });
          }
        });
        const header: [string, string][] = [['instance', 'Instance']];
        if (o.ps) header.push(['process', 'Process']);
        header.push(['process_state', 'Process State'], ['az', 'AZ'], ['ips', 'IPs']);
        if (o.vitals) header.push(['vm_created_at', 'VM Created At'], ...VITALS_HEADER);
        if (o.details)
          header.push(
            ['state', 'State'],
            ['vm_cid', 'VM CID'],
            ['vm_type', 'VM Type'],
            ['disk_cids', 'Disk CIDs'],
            ['agent_id', 'Agent ID'],
            ['index', 'Index'],
            ['bootstrap', 'Bootstrap'],
            ['ignore', 'Ignore'],
          );
        listings.push({ content: 'instances', title: `Deployment '${name}'`, header, rows, count: shown });
      }
      await s.agents.closeAll();
      printListings(io.stdout, listings, o);
    } finally {
      s.close();
    }
  };

/** bosh errands: the deployment's errands, from its manifest as deployed. */
export const errands = (io: CliIo) => async (o: DeploymentFlags) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    const rec = s.store.deployments.get(name);
    if (!rec) throw new DirectorError(`Deployment '${name}' does not exist`);
    const doc = rec.manifest
      ? (toPlain(parseYaml(rec.manifest, `deployment '${name}' manifest`)) as {
          instance_groups?: { name?: unknown; lifecycle?: unknown }[];
        })
      : {};
    const rows = (doc.instance_groups ?? [])
      .filter((g) => g.lifecycle === 'errand' && typeof g.name === 'string')
      .map((g) => ({ name: g.name as string }));
    printListings(
      io.stdout,
      [{ content: 'errands', title: `Using deployment '${name}'`, header: [['name', 'Name']], rows }],
      o,
    );
  } finally {
    s.close();
  }
};

/** The manifest as deployed: ops-files applied, ((variables)) not resolved, so no secret in it. */
export const manifest = (io: CliIo) => async (o: DeploymentFlags) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    const rec = s.store.deployments.get(name);
    if (!rec) throw new DirectorError(`Deployment '${name}' does not exist`);
    io.stdout.write(`Using deployment '${name}'\n\n${rec.manifest ?? ''}`);
    if (rec.manifest && !rec.manifest.endsWith('\n')) io.stdout.write('\n');
    io.stdout.write('\nSucceeded\n');
  } finally {
    s.close();
  }
};

/** Task events, newest first, in `bosh events` columns. */
export const events =
  (io: CliIo) => async (o: DeploymentFlags & { task?: string; instance?: string; action?: string }) => {
    const s = await services(io, o);
    try {
      const tasks = s.store.tasks
        .list({ ...(o.deployment ? { deployment: o.deployment } : {}) })
        .filter((t) => o.task === undefined || t.id === Number(o.task));
      const rows: Record<string, string>[] = [];
      for (const t of tasks) {
        for (const e of s.store.tasks.events(t.id)) {
          const instance = /([\w-]+\/[0-9a-f]{8}-[0-9a-f-]{27})/.exec(`${e.task} ${e.stage}`)?.[1] ?? '';
          rows.push({
            id: `${t.id}.${e.seq}`,
            time: formatTime(e.time),
            user: t.user,
            action: e.state,
            object_type: e.stage,
            object_name: e.task,
            task_id: String(t.id),
            deployment: t.deployment ?? '',
            instance,
            context: '',
            error: e.error ?? '',
            sort: `${e.time}|${String(t.id).padStart(9, '0')}|${String(e.seq).padStart(9, '0')}`,
          });
        }
      }
      const shown = rows
        .filter(
          (r) =>
            (o.instance === undefined || r['instance']!.startsWith(o.instance)) &&
            (o.action === undefined || r['action'] === o.action),
        )
        .sort((a, b) => b['sort']!.localeCompare(a['sort']!))
        .map(({ sort, ...r }) => (void sort, r));
      printListings(
        io.stdout,
        [
          {
            content: 'events',
            header: [
              ['id', 'ID'],
              ['time', 'Time'],
              ['user', 'User'],
              ['action', 'Action'],
              ['object_type', 'Object Type'],
              ['object_name', 'Object Name'],
              ['task_id', 'Task ID'],
              ['deployment', 'Deployment'],
              ['instance', 'Instance'],
              ['context', 'Context'],
              ['error', 'Error'],
            ],
            rows: shown,
          },
        ],
        o,
      );
    } finally {
      s.close();
    }
  };

/** The deployment's generated variables: names and ids only, never values. */
export const variables = (io: CliIo) => async (o: DeploymentFlags) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    requireDeployment(s.store, name);
    const rows = s.store.variables.list(name).map((v) => ({ id: v.id, name: `/${name}/${v.name}` }));
    printListings(
      io.stdout,
      [
        {
          content: 'variables',
          title: `Deployment '${name}'`,
          header: [
            ['id', 'ID'],
            ['name', 'Name'],
          ],
          rows,
        },
      ],
      o,
    );
  } finally {
    s.close();
  }
};

// ---- lifecycle tasks ------------------------------------------------------------------------

type LifecycleFlags = DeploymentFlags & {
  hard?: boolean;
  skipDrain?: boolean;
  force?: boolean;
  canaries?: string;
  maxInFlight?: string;
};

const lifecycle =
  (verb: 'start' | 'stop' | 'restart' | 'recreate') =>
  (io: CliIo) =>
  async (slug: string | undefined, o: LifecycleFlags) => {
    const name = deploymentName(o, io);
    const sel = parseInstanceSelector(slug);
    const overrides = parseUpdateOverrides(o);
    const s = await services(io, o);
    try {
      io.stdout.write(`Using deployment '${name}'\n\n`);
      requireDeployment(s.store, name);
      selectInstances(s.store.instances.list(name), sel, name);
      if (!(await confirm(io, Boolean(o.nonInteractive)))) {
        io.stdout.write('Stopped\n');
        return;
      }
      const opts = { ...(o.hard ? { hard: true } : {}), ...(o.skipDrain ? { skipDrain: true } : {}), ...overrides };
      const what = sel.kind === 'all' ? 'deployment' : `instance ${formatSelector(sel)}`;
      await runTask(
        {
          store: s.store,
          clock: systemClock,
          out: io.stdout,
          description: `${verb} ${what}`,
          deployment: name,
          locks: [deploymentLock(name)],
        },
        (task) => {
          switch (verb) {
            case 'start':
              return startInstances(s.director, name, sel, task, opts);
            case 'stop':
              return stopInstances(s.director, name, sel, task, opts);
            case 'restart':
              return restartInstances(s.director, name, sel, task, opts);
            case 'recreate':
              return recreateInstances(s.director, name, sel, task, opts);
          }
        },
      );
      io.stdout.write('\nSucceeded\n');
    } finally {
      s.close();
    }
  };

export const start = lifecycle('start');
export const stop = lifecycle('stop');
export const restart = lifecycle('restart');
export const recreate = lifecycle('recreate');

export const deleteDeploymentAction = (io: CliIo) => async (o: LifecycleFlags) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    io.stdout.write(`Using deployment '${name}'\n\n`);
    if (!s.store.deployments.get(name)) {
      // bosh-cli succeeds when the deployment is already gone.
      io.stdout.write('\nSucceeded\n');
      return;
    }
    if (!(await confirm(io, Boolean(o.nonInteractive)))) {
      io.stdout.write('Stopped\n');
      return;
    }
    await runTask(
      {
        store: s.store,
        clock: systemClock,
        out: io.stdout,
        description: `delete deployment ${name}`,
        deployment: name,
        locks: [deploymentLock(name)],
      },
      (task) =>
        deleteDeployment(s.director, name, task, {
          ...(o.force ? { force: true } : {}),
          ...(o.skipDrain ? { skipDrain: true } : {}),
        }),
    );
    io.stdout.write('\nSucceeded\n');
  } finally {
    s.close();
  }
};

function problemListing(problems: readonly Problem[]): Listing {
  return {
    content: 'problems',
    header: [
      ['id', '#'],
      ['type', 'Type'],
      ['description', 'Description'],
    ],
    rows: problems.map((p) => ({ id: String(p.id), type: p.type, description: p.description })),
  };
}

export const cloudCheck =
  (io: CliIo) => async (o: DeploymentFlags & { auto?: boolean; report?: boolean; resolution?: string[] }) => {
    const name = deploymentName(o, io);
    const s = await services(io, o);
    try {
      io.stdout.write(`Using deployment '${name}'\n\n`);
      requireDeployment(s.store, name);
      let problems: Problem[] = [];
      await runTask(
        {
          store: s.store,
          clock: systemClock,
          out: io.stdout,
          description: `scan ${name}`,
          deployment: name,
          locks: [deploymentLock(name)],
        },
        async (task) => {
          problems = await task.step('Scanning VMs and disks', 'Checking VM states and disks', () =>
            scanForProblems(s.director, name),
          );
        },
      );
      io.stdout.write('\n');
      io.stdout.write(o.json ? listingsJson([problemListing(problems)]) : renderTable(problemListing(problems)));
      if (problems.length && o.report)
        throw new DirectorError(`${problems.length} problem${problems.length === 1 ? '' : 's'} found`);
      if (problems.length === 0 || o.report) {
        io.stdout.write('\nSucceeded\n');
        return;
      }
      const choices = new Map<number, string>();
      for (const p of problems) {
        const wanted = (o.resolution ?? []).find((r) => p.resolutions.some((x) => x.name === r));
        if (o.auto) choices.set(p.id, p.recommended);
        else if (wanted) choices.set(p.id, wanted);
        else if (io.interactive) choices.set(p.id, await askResolution(io, p));
        else
          throw new DirectorError(
            `Problem ${p.id} (${p.type}) needs a resolution: run with --auto, --resolution NAME, or in a terminal`,
          );
      }
      await runTask(
        {
          store: s.store,
          clock: systemClock,
          out: io.stdout,
          description: `apply resolutions ${name}`,
          deployment: name,
          locks: [deploymentLock(name)],
        },
        (task) => resolveProblems(s.director, name, problems, choices, task),
      );
      io.stdout.write('\nSucceeded\n');
    } finally {
      s.close();
    }
  };

async function askResolution(io: CliIo, p: Problem): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: io.stdin, output: io.stdout });
  try {
    io.stdout.write(
      `Problem ${p.id}: ${p.description}\n${p.resolutions.map((r, n) => `  ${n + 1}. ${r.plan}`).join('\n')}\n`,
    );
    const n = Number((await rl.question('Choose: ')).trim());
    const r = p.resolutions[n - 1];
    if (!r) throw new DirectorError(`Problem ${p.id}: '${n}' is not one of the ${p.resolutions.length} resolutions`);
    return r.name;
  } finally {
    rl.close();
  }
}

// ---- errands, ssh, logs, kubeconfig ---------------------------------------------------------

export const runErrandAction = (io: CliIo) => async (errand: string, o: DeploymentFlags & { keepAlive?: boolean }) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    io.stdout.write(`Using deployment '${name}'\n\n`);
    requireDeployment(s.store, name);
    const results = await runTask(
      {
        store: s.store,
        clock: systemClock,
        out: io.stdout,
        description: `run errand ${errand}`,
        deployment: name,
        locks: [deploymentLock(name)],
      },
      (task) =>
        runErrand(s.director, name, errand, task, {
          ...(o.keepAlive ? { keepAlive: true } : {}),
          onOutput: (_instance, stream, data) => (stream === 'stdout' ? io.stdout : io.stderr).write(data),
        }),
    );
    io.stdout.write('\n');
    for (const r of results) {
      io.stdout.write(
        `Instance   ${r.instance}\nExit Code  ${r.exitCode ?? `signal ${r.signal}`}\nStdout     ${r.stdout.trimEnd()}\nStderr     ${r.stderr.trimEnd()}\n\n`,
      );
    }
    io.stdout.write(`${results.length} errand(s)\n\n`);
    const failed = results.filter((r) => r.exitCode !== 0);
    if (failed.length)
      throw new DirectorError(
        `Errand '${errand}' completed with error (exit code ${failed[0]!.exitCode ?? failed[0]!.signal})`,
      );
    io.stdout.write('Succeeded\n');
  } finally {
    s.close();
  }
};

function oneInstance(store: StateStore, name: string, slug: string): InstanceRecord {
  const sel = parseInstanceSelector(slug);
  const picked = selectInstances(store.instances.list(name), sel, name);
  if (picked.length !== 1)
    throw new DirectorError(
      `'${slug}' names ${picked.length} instances of '${name}': name one as GROUP/INDEX or GROUP/ID`,
    );
  return picked[0]!;
}

async function endpointOf(
  io: CliIo,
  store: StateStore,
  i: InstanceRecord,
  flags: GatewayFlagValues,
): Promise<VmEndpoint> {
  const env = store.environment.get()!;
  const vm = liveVm(store, i.uuid);
  if (!vm?.ips[0] || !vm.hostPublicKey)
    throw new DirectorError(`Instance '${i.group}/${i.uuid}' has no VM (state: ${i.state})`);
  const gateway = gatewayFor(env, gatewayFlagsOf(io, flags));
  return {
    host: vm.ips[0],
    port: (await environmentCpi(env, stateDir(store))).sshPort,
    hostPublicKey: vm.hostPublicKey,
    privateKey: env.sshKey.privateKey,
    name: `${i.group}/${i.uuid}`,
    ...(gateway === undefined ? {} : { gateway }),
  };
}

export const ssh =
  (io: CliIo) =>
  async (slug: string, o: DeploymentFlags & GatewayFlagValues & { command?: string; results?: boolean }) => {
    const name = deploymentName(o, io);
    const s = await services(io, o);
    let code: number;
    try {
      requireDeployment(s.store, name);
      const picked =
        o.command !== undefined
          ? selectInstances(s.store.instances.list(name), parseInstanceSelector(slug), name)
          : [oneInstance(s.store, name, slug)];
      if (o.command !== undefined && picked.length === 1 && !o.results) {
        code = await execOnVm(await endpointOf(io, s.store, picked[0]!, o), o.command, io.stdout, io.stderr);
      } else if (o.command !== undefined) {
        code = await sshEach(io, s.store, picked, o.command, Boolean(o.results), o);
      } else {
        const endpoint = await endpointOf(io, s.store, picked[0]!, o);
        const out = io.stdout as NodeJS.WriteStream;
        const stdin = io.stdin as NodeJS.ReadStream;
        const tty =
          io.interactive && out.isTTY
            ? { rows: out.rows, cols: out.columns, term: io.env['TERM'] ?? 'xterm' }
            : undefined;
        if (tty && stdin.setRawMode) stdin.setRawMode(true);
        try {
          code = await shellOnVm(endpoint, {
            stdin: io.stdin,
            stdout: io.stdout,
            stderr: io.stderr,
            ...(tty ? { tty } : {}),
          });
        } finally {
          if (tty && stdin.setRawMode) stdin.setRawMode(false);
          stdin.pause();
        }
      }
    } finally {
      s.close();
    }
    if (code !== 0) throw new DirectorError(`Running command on '${slug}' exited with ${code}`);
  };

/**
 * `ssh GROUP -c CMD`: the command on every instance at once, each line behind its instance
 * (`worker/uuid (0): stdout | ...`), or with -r a table of each one's output and exit code, as
 * bosh-cli has it. The exit code is the first non-zero one.
 */
async function sshEach(
  io: CliIo,
  store: StateStore,
  picked: readonly InstanceRecord[],
  command: string,
  results: boolean,
  o: GatewayFlagValues & { json?: boolean; column?: string[] },
): Promise<number> {
  const runs = await Promise.all(
    picked.map(async (i) => {
      const who = instanceLabel(i);
      const out = results ? collected() : undefined;
      const err = results ? collected() : undefined;
      const stdout = out?.stream ?? prefixedLines(io.stdout, `${who}: stdout | `);
      const stderr = err?.stream ?? prefixedLines(io.stderr, `${who}: stderr | `);
      let code: number;
      try {
        code = await execOnVm(await endpointOf(io, store, i, o), command, stdout, stderr);
      } catch (e) {
        stderr.write(`${formatErrorChain(e)}\n`);
        code = 255;
      }
      await new Promise<void>((r) => stdout.end(r));
      await new Promise<void>((r) => stderr.end(r));
      return { who, code, stdout: out?.text() ?? '', stderr: err?.text() ?? '' };
    }),
  );
  if (results) {
    printListings(
      io.stdout,
      [
        {
          content: 'results',
          header: [
            ['instance', 'Instance'],
            ['stdout', 'Stdout'],
            ['stderr', 'Stderr'],
            ['exit_code', 'Exit Code'],
          ],
          rows: runs.map((r) => ({
            instance: r.who,
            stdout: r.stdout.trimEnd(),
            stderr: r.stderr.trimEnd(),
            exit_code: String(r.code),
          })),
        },
      ],
      o,
    );
  }
  return runs.find((r) => r.code !== 0)?.code ?? 0;
}

/**
 * `logs -f`: the job logs of every picked instance followed as tail -F does, over SSH, each line
 * behind its instance, until interrupted (or until every VM's tail ends). The agent keeps job logs
 * under sys/log of its root (/var/vcap on a VM, the VM's folder, which is its SSH home, locally).
 */
async function followLogs(
  io: CliIo,
  store: StateStore,
  picked: readonly InstanceRecord[],
  o: GatewayFlagValues & { job?: string[]; num?: string },
): Promise<void> {
  const lines = Number(o.num ?? '10');
  if (!Number.isInteger(lines) || lines < 0)
    throw new DirectorError(`Expected --num to be a whole number of lines, found '${o.num}'`);
  const files = o.job?.length ? o.job.map((j) => `sys/log/${shellWord(j)}/*.log`).join(' ') : 'sys/log/*/*.log';
  const command = `for d in /var/vcap "$HOME"; do if [ -d "$d/sys/log" ]; then cd "$d"; break; fi; done; exec tail -n ${lines} -F ${files}`;
  await Promise.all(
    picked.map(async (i) => {
      const who = instanceLabel(i);
      const out = prefixedLines(io.stdout, `${who}: `);
      const err = prefixedLines(io.stderr, `${who}: `);
      try {
        await execOnVm(await endpointOf(io, store, i, o), command, out, err, 2 ** 31 - 1);
      } finally {
        out.end();
        err.end();
      }
    }),
  );
}

/** A job name as one shell word (job names are plain, but never trusted into a command line). */
function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function stamp(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${String(d.getUTCMilliseconds() * 1_000_000).padStart(9, '0')}`;
}

export const logs =
  (io: CliIo) =>
  async (
    slug: string | undefined,
    o: DeploymentFlags & GatewayFlagValues & { job?: string[]; dir?: string; follow?: boolean; num?: string },
  ) => {
    const name = deploymentName(o, io);
    const s = await services(io, o);
    try {
      io.stdout.write(`Using deployment '${name}'\n\n`);
      requireDeployment(s.store, name);
      // One instance, a group, or (no argument) the whole deployment: a tarball per instance with a VM.
      const picked = selectInstances(s.store.instances.list(name), parseInstanceSelector(slug), name).filter((i) => {
        const vm = liveVm(s.store, i.uuid);
        return Boolean(vm?.ips[0] && vm.hostPublicKey);
      });
      if (picked.length === 0)
        throw new DirectorError(
          `No instance of '${name}'${slug ? ` named by '${slug}'` : ''} has a VM to fetch logs from`,
        );
      if (o.follow) {
        await followLogs(io, s.store, picked, o);
        return;
      }
      const files: string[] = [];
      await runTask(
        { store: s.store, clock: systemClock, out: io.stdout, description: 'fetch logs', deployment: name, locks: [] },
        (task) =>
          Promise.all(
            picked.map((i) => {
              const vm = liveVm(s.store, i.uuid)!;
              const agent = s.agents.agent({
                address: vm.ips[0]!,
                hostPublicKey: vm.hostPublicKey!,
                agentId: vm.agentId,
                instance: instanceLabel(i),
              });
              const file = join(o.dir ?? io.cwd, `${name}.${i.group}.${i.uuid}-${stamp(systemClock.now())}.tgz`);
              return task.step(`Fetching logs for ${instanceLabel(i)}`, 'Finding and packing log files', async () => {
                const tgz = await agent.fetchLogs(o.job?.length ? o.job : undefined);
                await writeFile(file, tgz, { mode: 0o600 });
                files.push(file);
              });
            }),
          ),
      );
      await s.agents.closeAll();
      io.stdout.write(
        `\n${files
          .sort()
          .map((f) => `Downloading resource to '${f}'...\n`)
          .join('')}\nSucceeded\n`,
      );
    } finally {
      s.close();
    }
  };

export const kubeconfig = (io: CliIo) => async (o: DeploymentFlags) => {
  const name = deploymentName(o, io);
  const s = await services(io, o);
  try {
    const env = s.store.environment.get()!;
    io.stdout.write(
      formatKubeconfig(name, kubeconfigParts(s.store, name, env.cpiProperties as Record<string, unknown>)),
    );
  } finally {
    s.close();
  }
};
