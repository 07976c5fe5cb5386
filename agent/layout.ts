import { join, resolve } from 'node:path';

/** Every path the agent uses, all under one root (`/var/vcap` on a real VM, the VM folder locally). */
export interface AgentLayout {
  readonly root: string;
  readonly boshDir: string;
  readonly settingsFile: string;
  readonly disksFile: string;
  readonly jobsDir: string;
  readonly jobsStore: string;
  readonly packagesDir: string;
  readonly packagesStore: string;
  readonly dataDir: string;
  readonly storeDir: string;
  readonly logDir: string;
  readonly runDir: string;
  readonly desiredFile: string;
  readonly stateFile: string;
  readonly supervisorPidFile: string;
  readonly supervisorLog: string;
  jobDir(job: string): string;
  jobLogDir(job: string): string;
  jobRunDir(job: string): string;
}

export function agentLayout(rootPath: string): AgentLayout {
  const root = resolve(rootPath);
  const boshDir = join(root, 'bosh');
  const jobsDir = join(root, 'jobs');
  const packagesDir = join(root, 'packages');
  const logDir = join(root, 'sys', 'log');
  const runDir = join(root, 'sys', 'run');
  return {
    root,
    boshDir,
    settingsFile: join(boshDir, 'settings.json'),
    disksFile: join(boshDir, 'disks.json'),
    jobsDir,
    jobsStore: join(jobsDir, '.store'),
    packagesDir,
    packagesStore: join(packagesDir, '.store'),
    dataDir: join(root, 'data'),
    storeDir: join(root, 'store'),
    logDir,
    runDir,
    desiredFile: join(runDir, 'desired.json'),
    stateFile: join(runDir, 'state.json'),
    supervisorPidFile: join(runDir, 'supervisor.pid'),
    supervisorLog: join(logDir, 'supervisor.log'),
    jobDir: (job) => join(jobsDir, job),
    jobLogDir: (job) => join(logDir, job),
    jobRunDir: (job) => join(runDir, job),
  };
}
