import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnvironmentCpi } from '../../cpi/environment.js';
import { DirectorError } from '../errors.js';
import { generateSshKeyPair } from '../crypto/ssh-keys.js';
import { manifestWithOps } from '../manifest/interpolate.js';
import { evaluateTemplate, varsFromFlags, type VarFlags, type Variables } from '../manifest/variables/index.js';
import { toPlain, type YamlValue } from '../manifest/value.js';
import { parseYaml, stringifyYaml } from '../manifest/yaml.js';
import { parseCloudConfig } from '../plan/cloud-config.js';
import { parseDeploymentManifest, type DeploymentManifest } from '../plan/deployment-manifest.js';
import { secretLeaves } from '../plan/changes.js';
import { formatManifestDiff, formatPlan } from '../plan/plan-format.js';
import { planDeployment, type DeploymentPlan, type ReleaseView } from '../plan/plan.js';
import type { Blobstore } from '../release/blobstore.js';
import { findReleaseView } from '../release/release-view.js';
import { uploadRelease } from '../release/upload-release.js';
import type { EnvironmentRecord, StateStore } from '../state/index.js';
import { Deployer, type DeployOptions } from './deployer.js';
import type { AgentDialer } from './ports.js';
import { recordedInstances } from './recorded.js';
import { PendingVariableStore } from './state-variable-store.js';
import type { Task } from './task.js';

/**
 * The manifest `deploy` hands the director, as bosh-cli prepares it: ops-files applied and the
 * command line's variables filled in; the others stay ((placeholders)) for the deployment's own
 * variable store. So the recorded manifest converges again later (recreate, start, cloud-check)
 * without the flags.
 */
export async function deploymentManifest(
  manifest: string,
  opsFiles: readonly string[],
  varFlags: VarFlags,
): Promise<{ raw: YamlValue; vars: Variables }> {
  const vars = varsFromFlags(varFlags);
  const withOps = manifestWithOps({ manifest, opsFiles: [...opsFiles], varFlags });
  return { raw: vars.names().length ? await evaluateTemplate(withOps, { vars }) : withOps, vars };
}

export interface DirectorServices {
  readonly store: StateStore;
  readonly environment: EnvironmentRecord;
  readonly cpi: EnvironmentCpi;
  readonly agents: AgentDialer;
  readonly blobstore: Blobstore;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log?: (line: string) => void;
}

export interface PreparedDeploy {
  readonly manifest: DeploymentManifest;
  /** The manifest as recorded: ops applied, variables not resolved (no secret in it). */
  readonly rawText: string;
  readonly plan: DeploymentPlan;
  readonly diff: string;
  readonly planText: string;
  readonly cloudConfigVersion: number | null;
  /** Variables generated for this plan, written only when it is applied. */
  readonly variables: PendingVariableStore;
}

/**
 * The director's deployment operations, joining interpolation, planning, the state, the CPI and
 * the agents. The CLI parses flags and prints; this does the work.
 */
export class Director {
  constructor(private readonly s: DirectorServices) {}

  /** Uploads releases the manifest names by a local `url` that are not uploaded yet. */
  async ensureReleases(raw: YamlValue, cwd: string): Promise<void> {
    const releases = toPlain(raw) as { releases?: { name?: string; version?: string | number; url?: string }[] };
    for (const r of releases?.releases ?? []) {
      if (!r.name) continue;
      const version = r.version === undefined ? 'latest' : String(r.version);
      const have = this.s.store.releases.list().filter((x) => x.name === r.name);
      if (have.some((x) => version === 'latest' || x.version === version)) continue;
      const local = r.url?.startsWith('file://')
        ? fileURLToPath(r.url)
        : r.url && !/^[a-z]+:\/\//.test(r.url)
          ? r.url
          : undefined;
      if (!local) continue;
      const dir = isAbsolute(local) ? local : resolve(cwd, local);
      if (!existsSync(dir) || !statSync(dir).isDirectory())
        throw new DirectorError(`Release '${r.name}' names '${r.url}', which is not a release folder`);
      await uploadRelease(dir, this.s.store, this.s.blobstore, { ...(this.s.log ? { log: this.s.log } : {}) });
    }
  }

  /**
   * Interpolates (with the deployment's own generated variables), validates and plans. Writes
   * nothing: variables generated now are held in the plan until `apply` commits them.
   */
  async prepare(name: string, raw: YamlValue, given: Variables, opts: { recreate?: boolean }): Promise<PreparedDeploy> {
    // `-d NAME` also answers ((deployment_name)), as kubo-deployment's ops-files expect, unless
    // the command line gives it.
    const vars: Variables = {
      get: (n) => given.get(n) ?? (n === 'deployment_name' ? name : undefined),
      names: () => given.names(),
    };
    const { store } = this.s;
    const cc = store.cloudConfigs.latest();
    if (!cc) throw new DirectorError('No cloud-config: run create-env first');
    const cloud = parseCloudConfig(
      toPlain(parseYaml(cc.content, 'cloud-config')),
      `cloud-config version ${cc.version}`,
    );
    const variables = new PendingVariableStore(store, name);
    const evaluated = await evaluateTemplate(raw, {
      vars,
      store: variables,
      expectAllKeys: true,
      defaultCertificateKeyLength: 2048,
    });
    const plain = toPlain(evaluated) as Record<string, unknown>;
    if (plain['name'] !== name)
      throw new DirectorError(`Manifest is for deployment '${String(plain['name'])}', not '${name}' (-d ${name})`);
    const manifest = parseDeploymentManifest(plain, cloud);
    const releases = new Map<string, ReleaseView>();
    for (const r of manifest.releases) {
      const version = r.version === 'latest' ? this.latestRelease(r.name) : r.version;
      releases.set(r.name, findReleaseView(store, this.s.blobstore, r.name, version));
    }
    for (const s of manifest.stemcells) this.stemcellCid(s);
    const recorded = recordedInstances(store, name);
    const foreign = new Map<string, Map<string, string>>();
    for (const ip of store.ips.list()) {
      if (ip.deployment === name) continue;
      if (!foreign.has(ip.network)) foreign.set(ip.network, new Map());
      foreign.get(ip.network)!.set(ip.ip, ip.instance ?? ip.deployment);
    }
    const secrets = new Map<string, string>();
    for (const [n, v] of variables.values()) secretLeaves(n, v, secrets);
    const plan = planDeployment({
      manifest,
      cloud,
      recorded,
      releases,
      newUuid: randomUUID,
      recreate: opts.recreate ?? false,
      foreignAddresses: foreign,
      secrets,
    });
    this.checkCloudProperties(plan);
    const rawText = stringifyYaml(raw);
    const before = store.deployments.get(name)?.manifest ?? '';
    return {
      manifest,
      rawText,
      plan,
      diff: formatManifestDiff(before, rawText),
      planText: formatPlan(plan),
      cloudConfigVersion: cc.version,
      variables,
    };
  }

  /** Applies a prepared plan and records the manifest as deployed. */
  async apply(p: PreparedDeploy, task: Task, opts: DeployOptions): Promise<void> {
    const { store } = this.s;
    // The operator said yes: the deployment and the variables generated for its plan are written now.
    store.transaction(() => {
      store.deployments.ensure(p.plan.deployment);
      p.variables.commit();
    });
    const deployer = this.deployer();
    try {
      await deployer.apply(p.plan, task, opts);
    } finally {
      await this.s.agents.closeAll();
    }
    this.s.store.deployments.recordDeployed(p.plan.deployment, p.rawText, p.cloudConfigVersion);
  }

  /** The services this director was built with (state, CPI, agents), for the lifecycle commands. */
  get services(): DirectorServices {
    return this.s;
  }

  /** The executor over this director's state, CPI and agents. */
  deployer(): Deployer {
    return new Deployer({
      store: this.s.store,
      cpi: this.s.cpi.cpi,
      agents: this.s.agents,
      hostKeys: { make: () => generateSshKeyPair('ed25519', 'vm-host') },
      environment: this.s.environment,
      stemcellCid: (s) => this.stemcellCid(s),
      sleep: this.s.sleep,
      findVmByAgentId: (agentId) => this.s.cpi.findVmByAgentId(agentId),
    });
  }

  /**
   * Plans the deployment again from its recorded manifest (ops applied, variables from the
   * deployment's own store) — what recreate, start and cloud-check's resurrection converge to.
   */
  async prepareRecorded(name: string, opts: { recreate?: boolean } = {}): Promise<PreparedDeploy> {
    const rec = this.s.store.deployments.get(name);
    if (!rec?.manifest) throw new DirectorError(`Deployment '${name}' has no deployed manifest`);
    const none: Variables = { get: () => undefined, names: () => [] };
    return this.prepare(name, parseYaml(rec.manifest, `deployment '${name}' manifest`), none, opts);
  }

  /**
   * Asks the CPI to check every instance group's cloud properties (az, vm_type and vm_extensions
   * merged, with the disk_type) before anything is made; the error names the group, the vm_type
   * and the disk_type.
   */
  private checkCloudProperties(plan: DeploymentPlan): void {
    const cpi = this.s.cpi.cpi;
    if (cpi.checkCloudProperties === undefined) return;
    const seen = new Set<string>();
    for (const { group, plans } of plan.groups) {
      for (const p of plans) {
        const d = p.desired;
        if (d === undefined) continue;
        const disk = d.persistentDisk.size > 0 ? d.persistentDisk.cloudProperties : undefined;
        const key = JSON.stringify([d.cloudProperties, disk ?? null]);
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          cpi.checkCloudProperties(d.cloudProperties, disk);
        } catch (err) {
          const what = [
            `instance group '${group.name}'`,
            ...(group.vmType === undefined ? [] : [`vm_type '${group.vmType}'`]),
            ...(group.vmExtensions.length === 0
              ? []
              : [`vm_extensions ${group.vmExtensions.map((e) => `'${e}'`).join(', ')}`]),
            ...(d.az === null ? [] : [`az '${d.az}'`]),
            ...(disk === undefined || group.persistentDisk.type === undefined
              ? []
              : [`disk_type '${group.persistentDisk.type}'`]),
          ];
          throw new DirectorError(
            `Checking cloud properties of ${what.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    }
  }

  private latestRelease(name: string): string {
    const all = this.s.store.releases.list().filter((r) => r.name === name);
    if (!all.length) throw new DirectorError(`Release '${name}' has not been uploaded`);
    return all
      .map((r) => r.version)
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .pop()!;
  }

  stemcellCid(s: { readonly os?: string; readonly name?: string; readonly version: string }): string {
    const all = this.s.store.stemcells
      .list()
      .filter((x) => (s.name ? x.name === s.name : x.os === s.os) && x.cpi === this.s.environment.cpiType);
    const match =
      s.version === 'latest'
        ? all.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true })).pop()
        : all.find((x) => x.version === s.version);
    if (!match)
      throw new DirectorError(
        `Stemcell '${s.name ?? s.os}/${s.version}' has not been uploaded (stemcells: ${
          this.s.store.stemcells
            .list()
            .map((x) => `${x.os}/${x.version}`)
            .join(', ') || 'none'
        })`,
      );
    return match.cid;
  }
}
