import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { promisify } from 'node:util';
import type { Disk, VirtualMachine } from '@azure/arm-compute';
import type {
  CloudProperties,
  CpiInfo,
  CreatedVm,
  Cpi,
  DiskHint,
  NetworkSettings,
  Networks,
  VmEnv,
} from '../contract.js';
import { CpiError } from '../cpi-error.js';
import type { CpiMethod, CpiResource } from '../cpi-error.js';
import { buildAzureClients } from './clients.js';
import type { AzureCallStats, AzureClients, AzureRetryOptions } from './clients.js';
import {
  diskCid,
  isUsableAgentId,
  lightStemcellCid,
  parseDiskCid,
  parseLightStemcellCid,
  parseVmCid,
  STEMCELL_PREFIX,
  vmCid,
  vmNames,
} from './cids.js';
import type { DiskCid, MarketplaceImage, VmCid } from './cids.js';
import { checkCloudProperties, parseDiskProperties, parseNetwork, parseVmProperties } from './cloud-properties.js';
import type { NamedRef, NetworkProperties } from './cloud-properties.js';
import type { AzureCpiConfig } from './config.js';
import { AZURE_SCSI_HOST_DEVICE_ID, cloudConfig } from './custom-data.js';
import type { AgentSettings } from './custom-data.js';
import {
  AzureFault,
  azureErrorInfo,
  invalid,
  isAzureNotFound,
  isTransientAsyncFailure,
  notFound,
  toCpiError,
} from './error-mapper.js';
import { ArmRequests, ArmRestError, systemArmClock } from './arm-requests.js';
import type { ArmClock } from './arm-requests.js';
import { VmLocks } from './vm-locks.js';
import { deleteBlob, uploadVhd } from './vhd-upload.js';
import type { BlobTarget, UploadProgress } from './vhd-upload.js';
import { checkVmEnv } from '../vm-env.js';

const execFileAsync = promisify(execFile);

export interface AzureCpiOptions {
  /** The SDK pipelines' retry policy (the CPI never retries on top of it). */
  readonly retry?: AzureRetryOptions;
  /** Prebuilt clients (tests, or a composition root sharing them with the foundation). */
  readonly clients?: AzureClients;
  /** How often to poll a long-running operation that sends no Retry-After (default 2000 ms). */
  readonly pollIntervalMs?: number;
  /** Tags stemcells (VMs and disks are tagged from the VM env). */
  readonly directorUuid?: string;
  /** Heavy stemcell upload progress, per stemcell. */
  readonly onUploadProgress?: (stemcellCid: string, done: number, total: number) => void;
  /** Overrides the blob endpoint ARM reports for the storage account (e.g. Azurite). */
  readonly blobEndpoint?: (accountName: string) => string;
  /**
   * How often a CPI method is run again when one of its long-running operations ended Failed
   * with a transient code (InternalExecutionError, RetryableError), as bosh-azure-cpi retries an
   * AzureAsynInternalError (default 3). Every method is safe to repeat: a failure leaves nothing
   * behind, and names are derived, so a repeat finds what the first attempt made.
   */
  readonly asyncRetries?: number;
  /** The clock the CPI waits by (Retry-After, backoff, the NIC reservation); tests scale it with ARM's. */
  readonly clock?: ArmClock;
  /** Where the per-VM locks live (default: the OS temp folder), shared by every process of a director. */
  readonly lockDir?: string;
  /** How long a NIC deletion waits out NicInUse / NicReservedForAnotherVm (ms, default 180 s, as bosh-azure-cpi). */
  readonly nicDeleteTimeoutMs?: number;
}

/** api-versions of the requests the CPI sends itself (stable, and accepted by the fake). */
const COMPUTE_API = '2024-07-01';
const DISK_API = '2024-03-02';
const NETWORK_API = '2024-05-01';
const TAGS_API = '2021-04-01';
/** The tag that says create_vm made the VM's dynamic public IP (delete_vm deletes it then). */
const DYNAMIC_PUBLIC_IP_TAG = 'dynamic_public_ip';

/** What the director made in a resource group, found by its `director` tag (delete-env). */
export interface AzureInventory {
  /** VM cids (from VMs, NICs and OS disks tagged with an agent id: half-made VMs too). */
  readonly vms: readonly string[];
  /** Managed disks that are not a VM's own OS or ephemeral disk (persistent disks). */
  readonly disks: readonly string[];
  readonly snapshots: readonly string[];
  /** Heavy stemcells (managed images). */
  readonly stemcells: readonly string[];
  /** Availability set names. */
  readonly availabilitySets: readonly string[];
}

/** The container heavy stemcells are uploaded to, as bosh-azure-cpi names it. */
export const STEMCELL_CONTAINER = 'stemcell';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** Resolves to undefined when Azure answers 404 for the resource (or its group). */
async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isAzureNotFound(err)) return undefined;
    throw err;
  }
}

/** Awaits a delete; a resource already gone is fine. */
async function gone(p: PromiseLike<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isAzureNotFound(err)) throw err;
  }
}

/** The last segment of an ARM id, and its resource group. */
function idParts(id: string | undefined): { name: string; resourceGroupName: string } | undefined {
  const m = /\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)$/i.exec(id ?? '');
  return m === null ? undefined : { resourceGroupName: m[1] as string, name: m[2] as string };
}

function parseVip(
  name: string,
  settings: NetworkSettings,
): { name: string; ip: string; resourceGroupName: string | undefined } {
  if (typeof settings.ip !== 'string' || !isIPv4(settings.ip))
    throw invalid(
      `networks.${name}.ip must be the static public IPv4 address of a vip network, found ${show(settings.ip)}`,
    );
  const rg = isPlainObject(settings.cloud_properties) ? settings.cloud_properties.resource_group_name : undefined;
  if (rg !== undefined && (typeof rg !== 'string' || rg === ''))
    throw invalid(
      `networks.${name}.cloud_properties.resource_group_name must be a resource group name, found ${show(rg)}`,
    );
  return { name, ip: settings.ip, resourceGroupName: rg };
}

/** The tags create_vm writes from the VM env: how the director finds what it made. */
const IDENTITY_TAGS: readonly string[] = [
  'director',
  'deployment',
  'instance_group',
  'instance_index',
  'instance_id',
  'agent_id',
];

/** Azure tag values are strings of at most 256 characters. */
function tagValues(tags: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v).slice(0, 256)]));
}

/** Serialises work per key (one VM's data disk list, so LUN choices never collide). */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** What create_vm made, by name, in order: undone in reverse on failure. */
type Made = {
  readonly kind: 'vm' | 'disk' | 'nic' | 'publicIp';
  readonly resourceGroupName: string;
  readonly name: string;
};

/**
 * The Azure CPI on the Azure SDK (`@azure/arm-compute`, `@azure/arm-network`,
 * `@azure/arm-storage`, `@azure/storage-blob`). Cloud properties, names, cids and tags follow
 * bosh-azure-cpi. Throttling and transient failures are retried by the SDK pipelines only;
 * long-running operations are followed to their end by the SDK pollers; every failure leaves
 * through one mapper (./error-mapper.ts) with Azure's code and message.
 */
export class AzureCpi implements Cpi {
  private readonly clients: AzureClients;
  private readonly vmQueue = new KeyedQueue();
  /** Poll interval of long-running operations when Azure sends no Retry-After. */
  private readonly lro: { readonly updateIntervalInMs: number };
  /** ARM requests where the request budget matters (VM, NIC, tags): answered as ARM says. */
  private readonly arm: ArmRequests;
  private readonly clock: ArmClock;
  private readonly locks: VmLocks;

  constructor(
    private readonly config: AzureCpiConfig,
    private readonly options: AzureCpiOptions = {},
  ) {
    this.lro = { updateIntervalInMs: options.pollIntervalMs ?? 2000 };
    this.clients =
      options.clients ?? buildAzureClients(config, options.retry === undefined ? {} : { retry: options.retry });
    this.clock = options.clock ?? systemArmClock;
    this.arm = new ArmRequests(this.clients.network, config.resourceManagerEndpoint, this.clock, {
      pollIntervalMs: options.pollIntervalMs ?? 5000,
      onPoll: () => this.clients.stats.polls++,
    });
    this.locks = new VmLocks(options.lockDir, this.clock);
  }

  /** One operation at a time per VM, across processes too (metadata, attach, detach, reboot, create, delete). */
  private withVmLock<T>(rg: string, vmName: string, work: () => Promise<T>): Promise<T> {
    const key = `${this.config.subscriptionId}/${rg}/${vmName}`.toLowerCase();
    return this.vmQueue.run(key, () => this.locks.run(key, work));
  }

  /** Requests, retries, throttles and time spent waiting for retries, so far. */
  stats(): Readonly<AzureCallStats> {
    return { ...this.clients.stats };
  }

  private async call<T>(
    method: CpiMethod,
    work: () => Promise<T>,
    about?: { resource: CpiResource; cid: string },
  ): Promise<T> {
    const retries = this.options.asyncRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (attempt < retries && isTransientAsyncFailure(err)) {
          this.clients.stats.asyncRetries++;
          continue;
        }
        throw toCpiError(method, err, about);
      }
    }
  }

  private rg(name: string | undefined): string {
    return name ?? this.config.resourceGroupName;
  }

  /** create_vm's and create_disk's cloud property rules, without calling Azure (see the contract). */
  checkCloudProperties(vm: CloudProperties, disk: CloudProperties | undefined): void {
    checkCloudProperties(vm, disk);
  }

  info(): Promise<CpiInfo> {
    return this.call('info', async () => ({ api_version: 2, stemcell_formats: ['azure-vhd', 'azure-light'] }));
  }

  // ---- stemcells ---------------------------------------------------------------------------

  /**
   * Light stemcell (`cloud_properties.image` = {publisher, offer, sku, version}): the cid encodes
   * the marketplace image, nothing is created. Heavy stemcell: the image's root.vhd is uploaded as
   * a page blob to the storage account's `stemcell` container, then made a managed image named
   * like the cid. A failure removes the blob and the image.
   */
  createStemcell(imagePath: string, cloudProperties: CloudProperties, onProgress?: UploadProgress): Promise<string> {
    return this.call('create_stemcell', async () => {
      if (!isPlainObject(cloudProperties))
        throw invalid(`cloud_properties must be a map, found ${show(cloudProperties)}`);
      const { name, version } = cloudProperties;
      if (typeof name !== 'string' || name === '')
        throw invalid(`cloud_properties.name must be the stemcell name, found ${show(name)}`);
      if (typeof version !== 'string' && typeof version !== 'number')
        throw invalid(`cloud_properties.version must be the stemcell version, found ${show(version)}`);
      const image = cloudProperties.image;
      if (image !== undefined && image !== null) {
        if (!isPlainObject(image))
          throw invalid(`cloud_properties.image must be a map {publisher, offer, sku, version}, found ${show(image)}`);
        const ref: Record<string, string> = {};
        for (const key of ['publisher', 'offer', 'sku', 'version'] as const) {
          const v = image[key] ?? (key === 'version' ? 'latest' : undefined);
          if (typeof v !== 'string' || !/^[A-Za-z0-9._-]+$/.test(v))
            throw invalid(`cloud_properties.image.${key} must be a marketplace image ${key}, found ${show(v)}`);
          ref[key] = v;
        }
        const plan = await this.marketplaceImagePlan(ref as unknown as MarketplaceImage);
        return lightStemcellCid(ref as unknown as MarketplaceImage, undefined, plan);
      }
      // A BOSH heavy stemcell's bosh-agent (not cloud-init) reads the VM's custom data, as its
      // own JSON settings; this CPI boots VMs with cloud-init (#cloud-config: the director's key,
      // the host key it generated, the agent's settings file) and reaches them over SSH, so such
      // an image would boot unreachable. Refused here, at upload-stemcell, rather than at the
      // first VM.
      if (/go_agent$/.test(name)) {
        throw invalid(
          `cloud_properties.name '${name}' is a BOSH heavy stemcell: its bosh-agent reads custom data as BOSH settings, not cloud-init, and VMs made from it cannot be reached; use its light stemcell (cloud_properties.image: a marketplace image with cloud-init) or an image with cloud-init under another name`,
        );
      }
      return this.createHeavyStemcell(imagePath, cloudProperties, onProgress);
    });
  }

  /**
   * Checks that a light stemcell's marketplace image exists in the CPI's location (its version,
   * or any version for `latest`) and says whether it carries a purchase plan, which every VM made
   * from it must then name (https://learn.microsoft.com/azure/virtual-machines/linux/cli-ps-findimage#check-the-purchase-plan-information).
   */
  private async marketplaceImagePlan(image: MarketplaceImage): Promise<boolean> {
    const base = `/subscriptions/${this.config.subscriptionId}/providers/Microsoft.Compute/locations/${this.config.location}/publishers/${image.publisher}/artifacttypes/vmimage/offers/${image.offer}/skus/${image.sku}/versions`;
    const what = `cloud_properties.image: the marketplace image ${image.publisher}:${image.offer}:${image.sku}:${image.version}`;
    let version = image.version;
    if (version === 'latest') {
      const list = await orUndefined(this.arm.send('GET', base, COMPUTE_API));
      const names = Array.isArray(list?.body) ? (list.body as { name?: string }[]).map((v) => String(v.name)) : [];
      const newest = names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
      if (newest === undefined) throw invalid(`${what} does not exist in location '${this.config.location}'`);
      version = newest;
    }
    const found = await orUndefined(this.arm.send('GET', `${base}/${version}`, COMPUTE_API));
    if (found === undefined) throw invalid(`${what} does not exist in location '${this.config.location}'`);
    return found.body?.properties?.plan !== undefined;
  }

  private async createHeavyStemcell(
    imagePath: string,
    cp: Record<string, unknown>,
    onProgress?: UploadProgress,
  ): Promise<string> {
    const generation = cp.generation ?? 'gen1';
    if (generation !== 'gen1' && generation !== 'gen2')
      throw invalid(`cloud_properties.generation must be gen1 or gen2, found ${show(generation)}`);
    if (typeof imagePath !== 'string' || !existsSync(imagePath))
      throw invalid(`the stemcell image ${show(imagePath)} does not exist`);
    const target = await this.blobTarget();
    const cid = `${STEMCELL_PREFIX}-${randomUUID()}`;
    const blobName = `${cid}.vhd`;
    const scratch = await mkdtemp(join(tmpdir(), 'azure-stemcell-'));
    try {
      const vhd = await this.rootVhd(imagePath, scratch);
      const progress: UploadProgress = (done, total) => {
        onProgress?.(done, total);
        this.options.onUploadProgress?.(cid, done, total);
      };
      const blobUri = await uploadVhd(target, STEMCELL_CONTAINER, blobName, vhd, progress);
      await this.clients.compute.images.createOrUpdate(
        this.config.resourceGroupName,
        cid,
        {
          location: this.config.location,
          tags: tagValues({
            ...(this.options.directorUuid === undefined ? {} : { director: this.options.directorUuid }),
            stemcell_name: cp.name,
            stemcell_version: cp.version,
          }),
          hyperVGeneration: generation === 'gen2' ? 'V2' : 'V1',
          storageProfile: { osDisk: { osType: 'Linux', osState: 'Generalized', blobUri, caching: 'ReadWrite' } },
        },
        this.lro,
      );
      return cid;
    } catch (err) {
      await gone(this.clients.compute.images.delete(this.config.resourceGroupName, cid, this.lro)).catch(
        () => undefined,
      );
      await deleteBlob(target, STEMCELL_CONTAINER, blobName).catch(() => undefined);
      throw err;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** The VHD of a stemcell image: the file itself, or root.vhd inside the image tarball. */
  private async rootVhd(imagePath: string, scratch: string): Promise<string> {
    if (imagePath.endsWith('.vhd')) return imagePath;
    await execFileAsync('tar', ['-xzf', imagePath, '-C', scratch]).catch(() =>
      execFileAsync('tar', ['-xf', imagePath, '-C', scratch]),
    );
    const vhd = (await readdir(scratch)).find((f) => f.endsWith('.vhd'));
    if (vhd === undefined) throw invalid(`the stemcell image ${show(imagePath)} holds no .vhd (expected root.vhd)`);
    return join(scratch, vhd);
  }

  private async blobTarget(): Promise<BlobTarget> {
    const account = this.config.storageAccountName;
    if (account === undefined)
      throw invalid(
        `a heavy stemcell needs the CPI property storage_account_name (or use cloud_properties.image for a light stemcell)`,
      );
    const rg = this.config.resourceGroupName;
    const props = await this.clients.storage.storageAccounts.getProperties(rg, account);
    const keys = await this.clients.storage.storageAccounts.listKeys(rg, account);
    const key = keys.keys?.[0]?.value;
    const endpoint = this.options.blobEndpoint?.(account) ?? props.primaryEndpoints?.blob;
    if (key === undefined || endpoint === undefined)
      throw new AzureFault('Unknown', `storage account '${account}' has no blob endpoint or key`);
    return { blobEndpoint: endpoint, accountName: account, accountKey: key };
  }

  deleteStemcell(stemcellCid: string): Promise<void> {
    return this.call('delete_stemcell', async () => {
      if (parseLightStemcellCid(stemcellCid) !== undefined) return;
      if (typeof stemcellCid !== 'string' || !stemcellCid.startsWith(`${STEMCELL_PREFIX}-`)) return;
      await gone(this.clients.compute.images.delete(this.config.resourceGroupName, stemcellCid, this.lro));
      if (this.config.storageAccountName !== undefined) {
        const target = await orUndefined(this.blobTarget());
        if (target !== undefined) await deleteBlob(target, STEMCELL_CONTAINER, `${stemcellCid}.vhd`);
      }
    });
  }

  /**
   * The VM's imageReference (and a light stemcell's purchase plan), built from the cid: a heavy
   * stemcell's managed image is named like its cid, so no GET (a missing one is ARM's 404 at the
   * VM PUT).
   */
  private imageReference(stemcellCid: string): {
    ref: Record<string, string>;
    plan?: { name: string; product: string; publisher: string };
  } {
    const light = parseLightStemcellCid(stemcellCid);
    if (light !== undefined) {
      const { plan, ...ref } = light;
      // a marketplace plan is named by the image: name = sku, product = offer, publisher
      return plan === true
        ? { ref: { ...ref }, plan: { name: ref.sku, product: ref.offer, publisher: ref.publisher } }
        : { ref: { ...ref } };
    }
    if (typeof stemcellCid !== 'string' || !stemcellCid.startsWith(`${STEMCELL_PREFIX}-`))
      throw notFound('stemcell', String(stemcellCid));
    return { ref: { id: this.resourceId(this.config.resourceGroupName, 'Microsoft.Compute/images', stemcellCid) } };
  }

  // ---- VMs ---------------------------------------------------------------------------------

  /**
   * Creates the VM for `agentId`: a NIC per network (static IP, security group, the load
   * balancers' backend pools on the primary NIC), an optional dynamic public IP, the VM with a
   * managed OS disk, an ephemeral data disk at LUN 0 (unless ephemeral_disk.use_root_disk) and
   * cloud-init custom data.
   * Everything is named from the agent id and tagged. Everything is looked up before anything is
   * made; a failure deletes what this call made, by the names it chose.
   */
  createVm(
    agentId: string,
    stemcellCid: string,
    cloudProperties: CloudProperties,
    networks: Networks,
    diskCids: readonly string[],
    env: VmEnv,
  ): Promise<CreatedVm> {
    void diskCids; // placement hint only: managed disks follow the VM's zone, not the other way round
    return this.call('create_vm', async () => {
      if (!isUsableAgentId(agentId))
        throw invalid(`agent id ${show(agentId)} cannot name Azure resources (letters, digits, '-', '_'; at most 48)`);
      const props = parseVmProperties(cloudProperties);
      const { tags: identity, hostPublicKey } = checkVmEnv(env, agentId);
      if (!isPlainObject(networks) || Object.keys(networks).length === 0)
        throw invalid('networks must name at least one network');
      const nets: { name: string; settings: NetworkSettings; props: NetworkProperties }[] = [];
      const vips: { name: string; ip: string; resourceGroupName: string | undefined }[] = [];
      for (const [name, settings] of Object.entries(networks)) {
        if (isPlainObject(settings) && settings.type === 'vip') {
          vips.push(parseVip(name, settings));
          continue;
        }
        nets.push({ name, settings, props: parseNetwork(name, settings) });
      }
      if (vips.length > 1)
        throw invalid(`networks: at most one vip network, found ${vips.map((v) => `'${v.name}'`).join(', ')}`);
      if (vips.length > 0 && props.assignDynamicPublicIp)
        throw invalid('cloud_properties.assign_dynamic_public_ip cannot be used with a vip network');
      if (nets.length === 0) throw invalid('networks: an Azure VM needs at least one manual or dynamic network');
      const primary = nets.find((n) => n.settings.default?.includes('gateway')) ?? nets[0]!;
      nets.sort((a, b) => (a === primary ? -1 : b === primary ? 1 : 0));

      const imageReference = this.imageReference(stemcellCid);
      const tags = tagValues({
        ...props.tags,
        ...identity,
        ...(props.assignDynamicPublicIp ? { [DYNAMIC_PUBLIC_IP_TAG]: 'true' } : {}),
      });
      const pre = await this.preflight(props, nets);
      const vipId = vips[0] === undefined ? undefined : await this.publicIpWithAddress(vips[0]);
      const names = vmNames(agentId);
      const rg = this.config.resourceGroupName;
      const made: Made[] = [];
      try {
        const availabilitySetId =
          props.availabilitySet === undefined
            ? undefined
            : await this.ensureAvailabilitySet(props.availabilitySet, tags, pre.proximityPlacementGroup);
        let publicIpId = vipId;
        if (props.assignDynamicPublicIp) {
          made.push({ kind: 'publicIp', resourceGroupName: rg, name: names.publicIp });
          publicIpId = this.resourceId(rg, 'Microsoft.Network/publicIPAddresses', names.publicIp);
          await this.arm.run('PUT', publicIpId, NETWORK_API, {
            location: this.config.location,
            tags,
            sku: { name: 'Standard' },
            ...(props.availabilityZone === undefined ? {} : { zones: [props.availabilityZone] }),
            properties: { publicIPAllocationMethod: 'Static' },
          });
        }
        const assigned: Record<string, NetworkSettings> = { ...networks };
        const nicIds: string[] = [];
        for (const [i, n] of nets.entries()) {
          const nicName = names.nic(i);
          made.push({ kind: 'nic', resourceGroupName: rg, name: nicName });
          const isPrimary = i === 0;
          const nsg = pre.securityGroups[i];
          const asgs = pre.asgs[i] ?? [];
          const nicId = this.resourceId(rg, 'Microsoft.Network/networkInterfaces', nicName);
          const nic = {
            location: this.config.location,
            tags,
            properties: {
              ...(nsg === undefined ? {} : { networkSecurityGroup: { id: nsg } }),
              ipConfigurations: [
                {
                  name: 'ipconfig0',
                  properties: {
                    primary: true,
                    subnet: { id: pre.subnets[i] },
                    privateIPAllocationMethod: n.props.ip === undefined ? 'Dynamic' : 'Static',
                    ...(n.props.ip === undefined ? {} : { privateIPAddress: n.props.ip }),
                    ...(isPrimary && pre.pools.length > 0
                      ? { loadBalancerBackendAddressPools: pre.pools.map((id) => ({ id })) }
                      : {}),
                    ...(isPrimary && publicIpId !== undefined ? { publicIPAddress: { id: publicIpId } } : {}),
                    ...(asgs.length > 0 ? { applicationSecurityGroups: asgs.map((id) => ({ id })) } : {}),
                  },
                },
              ],
            },
          };
          // The NIC PUT's own answer carries the address Azure gave it: no GET, no poll when it says Succeeded.
          const answer = await this.arm.run('PUT', nicId, NETWORK_API, nic).catch((err: unknown) => {
            throw pre.refusal(err) ?? err;
          });
          nicIds.push(nicId);
          const ip = answer.body?.properties?.ipConfigurations?.[0]?.properties?.privateIPAddress as string | undefined;
          if (n.props.ip === undefined && ip !== undefined) assigned[n.name] = { ...n.settings, ip };
        }

        const ephemeralLun = props.ephemeralDisk === undefined ? undefined : 0;
        const settings: AgentSettings = {
          agent_id: agentId,
          vm: { name: names.vm },
          networks: assigned,
          disks: {
            system: '/dev/sda',
            ephemeral:
              ephemeralLun === undefined
                ? null
                : { lun: String(ephemeralLun), host_device_id: AZURE_SCSI_HOST_DEVICE_ID },
            persistent: {},
          },
          env: { ...(env.bosh ?? {}) },
        };
        const customData = cloudConfig({ sshUser: this.config.sshUser, env, hostPublicKey, settings });
        // osProfile.customData: at most 65535 bytes (the REST spec's OSProfile.customData)
        if (Buffer.byteLength(customData) > 65535)
          throw invalid(
            `the VM's custom data (cloud-init with the agent settings, networks and env) is ${Buffer.byteLength(customData)} bytes; Azure takes at most 65535`,
          );
        const plan = 'plan' in imageReference ? imageReference.plan : undefined;
        const vm = {
          location: this.config.location,
          tags,
          ...(props.availabilityZone === undefined ? {} : { zones: [props.availabilityZone] }),
          ...(plan === undefined ? {} : { plan }),
          properties: {
            hardwareProfile: { vmSize: props.instanceType },
            storageProfile: {
              imageReference: imageReference.ref,
              osDisk: {
                name: names.osDisk,
                osType: 'Linux',
                createOption: 'FromImage',
                caching: 'ReadWrite',
                deleteOption: 'Delete',
                managedDisk: { storageAccountType: props.rootDisk.type ?? 'Standard_LRS' },
                ...(props.rootDisk.sizeGb === undefined ? {} : { diskSizeGB: props.rootDisk.sizeGb }),
              },
              dataDisks:
                props.ephemeralDisk === undefined
                  ? []
                  : [
                      {
                        lun: 0,
                        name: names.ephemeralDisk,
                        createOption: 'Empty',
                        caching: 'ReadWrite',
                        deleteOption: 'Delete',
                        diskSizeGB: props.ephemeralDisk.sizeGb,
                        managedDisk: { storageAccountType: props.ephemeralDisk.type ?? 'Standard_LRS' },
                      },
                    ],
            },
            osProfile: {
              computerName: names.vm,
              adminUsername: this.config.sshUser,
              customData: Buffer.from(customData).toString('base64'),
              linuxConfiguration: {
                disablePasswordAuthentication: true,
                ssh: {
                  publicKeys: [
                    {
                      path: `/home/${this.config.sshUser}/.ssh/authorized_keys`,
                      keyData: env.ssh.authorizedKeys[0] as string,
                    },
                  ],
                },
              },
            },
            // The NICs go with the VM (deleteOption Delete): delete_vm deletes the VM, once.
            networkProfile: {
              networkInterfaces: nicIds.map((id, i) => ({
                id,
                properties: { primary: i === 0, deleteOption: 'Delete' },
              })),
            },
            ...(availabilitySetId === undefined ? {} : { availabilitySet: { id: availabilitySetId } }),
            ...(pre.proximityPlacementGroup === undefined
              ? {}
              : { proximityPlacementGroup: { id: pre.proximityPlacementGroup } }),
          },
        };
        made.push({ kind: 'disk', resourceGroupName: rg, name: names.osDisk });
        if (props.ephemeralDisk !== undefined)
          made.push({ kind: 'disk', resourceGroupName: rg, name: names.ephemeralDisk });
        made.push({ kind: 'vm', resourceGroupName: rg, name: names.vm });
        await this.withVmLock(rg, names.vm, () =>
          this.arm.run('PUT', this.resourceId(rg, 'Microsoft.Compute/virtualMachines', names.vm), COMPUTE_API, vm),
        ).catch((err: unknown) => {
          throw vmRefusal(err, props) ?? err;
        });
        const changed = JSON.stringify(assigned) !== JSON.stringify(networks);
        return changed
          ? { vmCid: vmCid({ agentId, resourceGroupName: rg }), networks: assigned }
          : { vmCid: vmCid({ agentId, resourceGroupName: rg }) };
      } catch (err) {
        const leftovers = await this.undo(made);
        if (leftovers.length === 0) throw err;
        // the director must know: these still exist under the agent's names (findVmByAgentId finds them)
        const mapped = toCpiError('create_vm', err);
        throw new CpiError(
          'create_vm',
          mapped.kind,
          `${mapped.detail} (cleaning up failed, left: ${leftovers.join(', ')})`,
          { okToRetry: false, cause: err },
        );
      }
    });
  }

  private resourceId(rg: string, type: string, name: string): string {
    return `/subscriptions/${this.config.subscriptionId}/resourceGroups/${rg}/providers/${type}/${name}`;
  }

  /**
   * The ids everything a VM refers to will have, built from names (no GET: ARM refuses a PUT that
   * refers to something missing, and `refusal` turns that into the property's fault). Only a load
   * balancer named without its backend pool is read, for its first pool.
   */
  private async preflight(
    props: ReturnType<typeof parseVmProperties>,
    nets: readonly { name: string; props: NetworkProperties }[],
  ): Promise<{
    subnets: string[];
    securityGroups: (string | undefined)[];
    asgs: string[][];
    pools: string[];
    proximityPlacementGroup: string | undefined;
    refusal: (err: unknown) => AzureFault | undefined;
  }> {
    const refs = new Map<string, string>();
    const ref = (id: string, what: string): string => {
      refs.set(id.toLowerCase(), what);
      return id;
    };
    const pools: string[] = [];
    for (const [i, lbRef] of props.loadBalancers.entries()) {
      const at =
        props.loadBalancers.length > 1 ? `cloud_properties.load_balancer[${i}]` : 'cloud_properties.load_balancer';
      const rg = this.rg(lbRef.resourceGroupName);
      const lbId = this.resourceId(rg, 'Microsoft.Network/loadBalancers', lbRef.name);
      if (lbRef.backendPoolName !== undefined) {
        pools.push(
          ref(
            `${lbId}/backendAddressPools/${lbRef.backendPoolName}`,
            `${at}: backend pool '${lbRef.backendPoolName}' of load balancer '${lbRef.name}' not found in resource group '${rg}'`,
          ),
        );
        continue;
      }
      const lb = await orUndefined(this.clients.network.loadBalancers.get(rg, lbRef.name));
      if (lb === undefined) throw invalid(`${at}: load balancer '${lbRef.name}' not found in resource group '${rg}'`);
      const pool = lb.backendAddressPools?.[0];
      if (pool?.id === undefined) throw invalid(`${at}: load balancer '${lbRef.name}' has no backend pool`);
      pools.push(pool.id);
    }
    const nsg = (at: string, r: NamedRef | undefined): string | undefined => {
      if (r === undefined) return undefined;
      const rg = this.rg(r.resourceGroupName);
      return ref(
        this.resourceId(rg, 'Microsoft.Network/networkSecurityGroups', r.name),
        `${at}: network security group '${r.name}' not found in resource group '${rg}'`,
      );
    };
    const subnets: string[] = [];
    const securityGroups: (string | undefined)[] = [];
    const asgs: string[][] = [];
    for (const n of nets) {
      const rg = this.rg(n.props.resourceGroupName);
      subnets.push(
        ref(
          `${this.resourceId(rg, 'Microsoft.Network/virtualNetworks', n.props.virtualNetworkName)}/subnets/${n.props.subnetName}`,
          `networks.${n.name}.cloud_properties: subnet '${n.props.subnetName}' of virtual network '${n.props.virtualNetworkName}' not found in resource group '${rg}'`,
        ),
      );
      // bosh-azure-cpi: the vm_extension's security group wins over the network's, then the default.
      securityGroups.push(
        props.securityGroup !== undefined
          ? nsg('cloud_properties.security_group', props.securityGroup)
          : n.props.securityGroup !== undefined
            ? nsg(`networks.${n.name}.cloud_properties.security_group`, n.props.securityGroup)
            : this.config.defaultSecurityGroup === undefined
              ? undefined
              : nsg('default_security_group (CPI property)', {
                  name: this.config.defaultSecurityGroup,
                  resourceGroupName: undefined,
                }),
      );
      const names =
        props.applicationSecurityGroups.length > 0
          ? props.applicationSecurityGroups
          : n.props.applicationSecurityGroups;
      asgs.push(
        names.map((name, j) =>
          ref(
            this.resourceId(this.config.resourceGroupName, 'Microsoft.Network/applicationSecurityGroups', name),
            `application_security_groups[${j}]: application security group '${name}' not found in resource group '${this.config.resourceGroupName}'`,
          ),
        ),
      );
    }
    const proximityPlacementGroup =
      props.proximityPlacementGroup === undefined
        ? undefined
        : ref(
            this.resourceId(
              this.config.resourceGroupName,
              'Microsoft.Compute/proximityPlacementGroups',
              props.proximityPlacementGroup,
            ),
            `cloud_properties.proximity_placement_group: '${props.proximityPlacementGroup}' not found in resource group '${this.config.resourceGroupName}'`,
          );
    const refusal = (err: unknown): AzureFault | undefined => {
      const { code, message } = azureErrorInfo(err);
      if (code !== 'InvalidResourceReference' && code !== 'NotFound' && code !== 'ResourceNotFound') return undefined;
      const lower = message.toLowerCase();
      for (const [id, what] of refs) if (lower.includes(id)) return invalid(what);
      return undefined;
    };
    return { subnets, securityGroups, asgs, pools, proximityPlacementGroup, refusal };
  }

  /** The static public IP a vip network names by its address (bosh-azure-cpi looks it up the same way). */
  private async publicIpWithAddress(vip: {
    name: string;
    ip: string;
    resourceGroupName: string | undefined;
  }): Promise<string> {
    const rg = this.rg(vip.resourceGroupName);
    for await (const pip of this.clients.network.publicIPAddresses.list(rg)) {
      if (pip.ipAddress === vip.ip && pip.id !== undefined) {
        if (pip.ipConfiguration?.id !== undefined)
          throw invalid(
            `networks.${vip.name}.ip: public IP ${vip.ip} ('${pip.name ?? ''}') is in use by ${pip.ipConfiguration.id}`,
          );
        return pip.id;
      }
    }
    throw invalid(`networks.${vip.name}.ip: no public IP with address ${vip.ip} in resource group '${rg}'`);
  }

  /** bosh-azure-cpi creates a missing availability set (2 fault domains, 5 update domains, managed). */
  private async ensureAvailabilitySet(
    name: string,
    tags: Record<string, string>,
    proximityPlacementGroup: string | undefined,
  ): Promise<string> {
    const rg = this.config.resourceGroupName;
    const existing = await orUndefined(this.clients.compute.availabilitySets.get(rg, name));
    if (existing?.id !== undefined) {
      const have = existing.proximityPlacementGroup?.id;
      if (proximityPlacementGroup !== undefined && have?.toLowerCase() !== proximityPlacementGroup.toLowerCase()) {
        throw invalid(
          `cloud_properties.availability_set '${name}' is ${have === undefined ? 'in no proximity placement group' : `in proximity placement group '${have.split('/').pop() ?? ''}'`}, not in cloud_properties.proximity_placement_group '${proximityPlacementGroup.split('/').pop() ?? ''}'`,
        );
      }
      return existing.id;
    }
    const created = await this.clients.compute.availabilitySets.createOrUpdate(rg, name, {
      location: this.config.location,
      tags: { director: tags.director ?? '', deployment: tags.deployment ?? '' },
      sku: { name: 'Aligned' },
      platformFaultDomainCount: 2,
      platformUpdateDomainCount: 5,
      ...(proximityPlacementGroup === undefined ? {} : { proximityPlacementGroup: { id: proximityPlacementGroup } }),
    });
    return created.id as string;
  }

  /** Deletes what create_vm made, newest first, by name; returns what could not be deleted. */
  private async undo(made: readonly Made[]): Promise<string[]> {
    const left: string[] = [];
    const retries = this.options.asyncRetries ?? 3;
    for (const m of [...made].reverse()) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.deleteNamed(m);
          break;
        } catch (err) {
          if (attempt < retries && isTransientAsyncFailure(err)) continue;
          left.push(`${m.kind} '${m.name}'`);
          break;
        }
      }
    }
    return left;
  }

  private async deleteNamed(m: Made): Promise<void> {
    switch (m.kind) {
      case 'vm':
        return this.withVmLock(m.resourceGroupName, m.name, () =>
          gone(
            this.arm.run(
              'DELETE',
              this.resourceId(m.resourceGroupName, 'Microsoft.Compute/virtualMachines', m.name),
              COMPUTE_API,
            ),
          ),
        );
      case 'disk':
        return gone(
          this.arm.run('DELETE', this.resourceId(m.resourceGroupName, 'Microsoft.Compute/disks', m.name), DISK_API),
        );
      case 'nic':
        return this.deleteNic(m.resourceGroupName, m.name);
      case 'publicIp':
        return gone(
          this.arm.run(
            'DELETE',
            this.resourceId(m.resourceGroupName, 'Microsoft.Network/publicIPAddresses', m.name),
            NETWORK_API,
          ),
        );
    }
  }

  /**
   * Deletes a NIC, waiting out NicInUse (its VM is still being deleted) and NicReservedForAnotherVm
   * (held 180 s after a failed VM create) for at most `nicDeleteTimeoutMs`, as bosh-azure-cpi does.
   */
  private async deleteNic(rg: string, name: string): Promise<void> {
    const deadline = this.clock.now() + (this.options.nicDeleteTimeoutMs ?? 190_000);
    for (let wait = 5000; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        return await gone(
          this.arm.run('DELETE', this.resourceId(rg, 'Microsoft.Network/networkInterfaces', name), NETWORK_API),
        );
      } catch (err) {
        const code = err instanceof ArmRestError ? err.code : undefined;
        if ((code !== 'NicReservedForAnotherVm' && code !== 'NicInUse') || this.clock.now() + wait > deadline)
          throw err;
        await this.clock.sleep(wait);
      }
    }
  }

  /**
   * Deletes a VM, once, in ARM's order: the VM (its NICs, OS and ephemeral disks go with it by
   * their deleteOption, attached persistent disks are detached and kept), then what it did not
   * take along: a NIC or disk made with deleteOption Detach (older VMs), its dynamic public IP
   * if create_vm made one. A VM that is gone leaves what a crashed create may have left, deleted
   * by the names derived from the agent id. A VM already gone succeeds.
   */
  deleteVm(cid: string): Promise<void> {
    return this.call('delete_vm', async () => {
      const id = parseVmCid(cid, this.config.resourceGroupName);
      if (id === undefined) return;
      const names = vmNames(id.agentId);
      const rg = id.resourceGroupName;
      const vmPath = this.resourceId(rg, 'Microsoft.Compute/virtualMachines', names.vm);
      const vm = await orUndefined(this.arm.send('GET', vmPath, COMPUTE_API));
      const after: Made[] = [];
      if (vm !== undefined) {
        const p = vm.body?.properties ?? {};
        for (const ref of p.networkProfile?.networkInterfaces ?? []) {
          const n = idParts(ref.id);
          if (n !== undefined && n.name.startsWith(`${names.vm}-`) && ref.properties?.deleteOption !== 'Delete')
            after.push({ kind: 'nic', resourceGroupName: n.resourceGroupName, name: n.name });
        }
        const sp = p.storageProfile ?? {};
        if (sp.osDisk?.name === names.osDisk && sp.osDisk?.deleteOption !== 'Delete')
          after.push({ kind: 'disk', resourceGroupName: rg, name: names.osDisk });
        for (const d of sp.dataDisks ?? []) {
          if (d.name === names.ephemeralDisk && d.deleteOption !== 'Delete')
            after.push({ kind: 'disk', resourceGroupName: rg, name: names.ephemeralDisk });
        }
        if (vm.body?.tags?.[DYNAMIC_PUBLIC_IP_TAG] === 'true')
          after.push({ kind: 'publicIp', resourceGroupName: rg, name: names.publicIp });
        await this.deleteNamed({ kind: 'vm', resourceGroupName: rg, name: names.vm });
      } else {
        after.push(
          { kind: 'nic', resourceGroupName: rg, name: names.nic(0) },
          { kind: 'disk', resourceGroupName: rg, name: names.osDisk },
          { kind: 'disk', resourceGroupName: rg, name: names.ephemeralDisk },
          { kind: 'publicIp', resourceGroupName: rg, name: names.publicIp },
        );
      }
      for (const m of after) await this.deleteNamed(m);
    });
  }

  /**
   * The cid of the VM `create_vm` made (or began to make) for `agentId`, found by name; undefined
   * when neither the VM nor its primary NIC exists. `deleteVm` on it removes every part.
   */
  async findVmByAgentId(agentId: string): Promise<string | undefined> {
    return this.call('has_vm', async () => {
      if (!isUsableAgentId(agentId)) return undefined;
      const rg = this.config.resourceGroupName;
      const names = vmNames(agentId);
      const vm = await orUndefined(this.clients.compute.virtualMachines.get(rg, names.vm));
      const nic =
        vm === undefined ? await orUndefined(this.clients.network.networkInterfaces.get(rg, names.nic(0))) : undefined;
      const disk =
        vm === undefined && nic === undefined
          ? await orUndefined(this.clients.compute.disks.get(rg, names.osDisk))
          : undefined;
      return vm !== undefined || nic !== undefined || disk !== undefined
        ? vmCid({ agentId, resourceGroupName: rg })
        : undefined;
    });
  }

  /**
   * Everything in the CPI's resource group tagged with `directorUuid`: the VMs (also half-made
   * ones, found by their NIC or OS disk), persistent disks, snapshots, heavy stemcells and
   * availability sets. Read-only; delete-env deletes what it lists, VMs first.
   */
  inventory(directorUuid: string): Promise<AzureInventory> {
    return this.call('has_vm', async () => {
      const rg = this.config.resourceGroupName;
      if ((await orUndefined(this.clients.resources.resourceGroups.get(rg))) === undefined)
        return { vms: [], disks: [], snapshots: [], stemcells: [], availabilitySets: [] };
      const ours = (r: { tags?: Record<string, string> }) => r.tags?.director === directorUuid;
      const agents = new Set<string>();
      const addAgent = (r: { tags?: Record<string, string> }) => {
        const a = r.tags?.agent_id;
        if (a !== undefined && isUsableAgentId(a)) agents.add(a);
      };
      for await (const vm of this.clients.compute.virtualMachines.list(rg)) if (ours(vm)) addAgent(vm);
      for await (const nic of this.clients.network.networkInterfaces.list(rg)) if (ours(nic)) addAgent(nic);
      const disks: string[] = [];
      for await (const d of this.clients.compute.disks.listByResourceGroup(rg)) {
        if (!ours(d) || d.name === undefined) continue;
        const a = d.tags?.agent_id;
        if (
          a !== undefined &&
          isUsableAgentId(a) &&
          (d.name === vmNames(a).osDisk || d.name === vmNames(a).ephemeralDisk)
        ) {
          agents.add(a);
        } else disks.push(diskCid({ name: d.name, resourceGroupName: rg }));
      }
      const snapshots: string[] = [];
      for await (const s of this.clients.compute.snapshots.listByResourceGroup(rg))
        if (ours(s) && s.name !== undefined) snapshots.push(diskCid({ name: s.name, resourceGroupName: rg }));
      const stemcells: string[] = [];
      for await (const i of this.clients.compute.images.listByResourceGroup(rg))
        if (ours(i) && i.name?.startsWith(`${STEMCELL_PREFIX}-`)) stemcells.push(i.name);
      const availabilitySets: string[] = [];
      for await (const a of this.clients.compute.availabilitySets.list(rg))
        if (ours(a) && a.name !== undefined) availabilitySets.push(a.name);
      return {
        vms: [...agents].sort().map((agentId) => vmCid({ agentId, resourceGroupName: rg })),
        disks,
        snapshots,
        stemcells,
        availabilitySets,
      };
    });
  }

  /** Deletes an availability set the CPI made (delete-env, after its VMs). Gone already is fine. */
  deleteAvailabilitySet(name: string): Promise<void> {
    return this.call('delete_vm', async () => {
      await gone(this.clients.compute.availabilitySets.delete(this.config.resourceGroupName, name));
    });
  }

  hasVm(cid: string): Promise<boolean> {
    return this.call('has_vm', async () => {
      const id = parseVmCid(cid, this.config.resourceGroupName);
      if (id === undefined) return false;
      const vm = await orUndefined(
        this.clients.compute.virtualMachines.get(id.resourceGroupName, vmNames(id.agentId).vm),
      );
      return vm !== undefined && vm.provisioningState !== 'Deleting';
    });
  }

  private async vm(cid: string): Promise<{ id: VmCid; vm: VirtualMachine }> {
    const id = parseVmCid(cid, this.config.resourceGroupName);
    if (id === undefined) throw notFound('vm', String(cid));
    const vm = await orUndefined(
      this.clients.compute.virtualMachines.get(id.resourceGroupName, vmNames(id.agentId).vm),
    );
    if (vm === undefined) throw notFound('vm', cid);
    return { id, vm };
  }

  rebootVm(cid: string): Promise<void> {
    return this.call(
      'reboot_vm',
      async () => {
        const id = parseVmCid(cid, this.config.resourceGroupName);
        if (id === undefined) throw notFound('vm', String(cid));
        const name = vmNames(id.agentId).vm;
        await this.withVmLock(id.resourceGroupName, name, () =>
          this.arm.run(
            'POST',
            `${this.resourceId(id.resourceGroupName, 'Microsoft.Compute/virtualMachines', name)}/restart`,
            COMPUTE_API,
          ),
        );
      },
      { resource: 'vm', cid },
    );
  }

  /**
   * One Tags merge on the VM (`Microsoft.Resources/tags` at its scope, operation Merge): no read,
   * one write. The identity create_vm wrote wins: BOSH's `director` metadata is the director's
   * name and would replace the uuid delete-env finds the VM by, so identity keys are left out.
   */
  setVmMetadata(cid: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.call(
      'set_vm_metadata',
      async () => {
        if (!isPlainObject(metadata)) throw invalid(`metadata must be a map of strings, found ${show(metadata)}`);
        const id = parseVmCid(cid, this.config.resourceGroupName);
        if (id === undefined) throw notFound('vm', String(cid));
        const name = vmNames(id.agentId).vm;
        const tags = tagValues(
          Object.fromEntries(Object.entries(metadata).filter(([k]) => !IDENTITY_TAGS.includes(k))),
        );
        if (Object.keys(tags).length === 0) return;
        const scope = this.resourceId(id.resourceGroupName, 'Microsoft.Compute/virtualMachines', name);
        await this.withVmLock(id.resourceGroupName, name, () =>
          this.arm.run('PATCH', `${scope}/providers/Microsoft.Resources/tags/default`, TAGS_API, {
            operation: 'Merge',
            properties: { tags },
          }),
        );
      },
      { resource: 'vm', cid },
    );
  }

  // ---- disks -------------------------------------------------------------------------------

  /**
   * Creates an empty managed disk (`bosh-disk-data-<uuid>-<caching>`, GiB rounded up) in the
   * zone and with the tags of `vmCid` if given. A failure deletes it by name.
   */
  createDisk(sizeMiB: number, cloudProperties: CloudProperties, vmCidHint?: string): Promise<string> {
    return this.call('create_disk', async () => {
      if (!Number.isInteger(sizeMiB) || sizeMiB <= 0)
        throw invalid(`size must be a positive whole number of MiB, found ${show(sizeMiB)}`);
      const props = parseDiskProperties(cloudProperties);
      const near = vmCidHint === undefined || vmCidHint === null ? undefined : (await this.vm(vmCidHint)).vm;
      const rg = this.config.resourceGroupName;
      const name = `bosh-disk-data-${randomUUID()}-${props.caching}`;
      const tags = {
        ...(this.options.directorUuid === undefined ? {} : { director: this.options.directorUuid }),
        ...Object.fromEntries(Object.entries(near?.tags ?? {}).filter(([k]) => IDENTITY_TAGS.includes(k))),
      };
      const ppg =
        props.proximityPlacementGroup === undefined
          ? undefined
          : this.resourceId(rg, 'Microsoft.Compute/proximityPlacementGroups', props.proximityPlacementGroup);
      const disk = {
        location: near?.location ?? this.config.location,
        tags: { ...tags, caching: props.caching },
        sku: { name: props.storageAccountType },
        ...(near?.zones !== undefined && near.zones.length > 0 ? { zones: near.zones } : {}),
        properties: {
          creationData: { createOption: 'Empty' },
          diskSizeGB: Math.ceil(sizeMiB / 1024),
          ...(props.maxShares === undefined ? {} : { maxShares: props.maxShares }),
          ...(ppg === undefined ? {} : { proximityPlacementGroup: { id: ppg } }),
        },
      };
      const path = this.resourceId(rg, 'Microsoft.Compute/disks', name);
      try {
        await this.arm.run('PUT', path, DISK_API, disk);
      } catch (err) {
        await gone(this.arm.run('DELETE', path, DISK_API)).catch(() => undefined);
        const { code, message } = azureErrorInfo(err);
        if (code === 'InvalidParameter' && /maxShares|shared/i.test(message))
          throw invalid(
            `cloud_properties.max_shares with storage_account_type '${props.storageAccountType}': ${message}`,
          );
        if (code === 'NotFound' && /proximity placement group/i.test(message))
          throw invalid(`cloud_properties.proximity_placement_group: ${message}`);
        throw err;
      }
      return diskCid({ name, resourceGroupName: rg });
    });
  }

  private async disk(cid: string): Promise<{ id: DiskCid; disk: Disk }> {
    const id = parseDiskCid(cid, this.config.resourceGroupName);
    if (id === undefined) throw notFound('disk', String(cid));
    const disk = await orUndefined(this.clients.compute.disks.get(id.resourceGroupName, id.name));
    if (disk === undefined) throw notFound('disk', cid);
    return { id, disk };
  }

  deleteDisk(cid: string): Promise<void> {
    return this.call('delete_disk', async () => {
      const id = parseDiskCid(cid, this.config.resourceGroupName);
      if (id === undefined) return;
      await gone(
        this.arm.run('DELETE', this.resourceId(id.resourceGroupName, 'Microsoft.Compute/disks', id.name), DISK_API),
      );
    });
  }

  /**
   * Attaches a disk at the lowest free LUN (the ephemeral disk holds LUN 0) with the caching its
   * name records; returns `{lun, host_device_id}`. Attaching it again to the same VM returns the
   * same hint.
   */
  attachDisk(vmCidArg: string, cid: string): Promise<DiskHint> {
    return this.call('attach_disk', async () => {
      const v = parseVmCid(vmCidArg, this.config.resourceGroupName);
      if (v === undefined) throw notFound('vm', String(vmCidArg));
      return this.withVmLock(v.resourceGroupName, vmNames(v.agentId).vm, async () => {
        const { vm } = await this.vm(vmCidArg);
        const found = await this.disk(cid);
        const d = found.id;
        let disk = found.disk;
        const attached = vm.storageProfile?.dataDisks?.find(
          (x) => x.managedDisk?.id?.toLowerCase() === disk.id?.toLowerCase(),
        );
        if (attached !== undefined) return { lun: String(attached.lun), host_device_id: AZURE_SCSI_HOST_DEVICE_ID };
        // a shared disk (max_shares > 1) takes VMs until maxShares; any other only one
        const users = disk.managedByExtended ?? (disk.managedBy ? [disk.managedBy] : []);
        if (users.length > 0 && users.length >= (disk.maxShares ?? 1))
          throw new AzureFault(
            'Unknown',
            `Disk '${cid}' is attached to VM${users.length > 1 ? 's' : ''} '${users.join("', '")}'${(disk.maxShares ?? 1) > 1 ? ` (max_shares ${disk.maxShares})` : ''}`,
          );
        // a zonal VM takes a regional disk into its zone first, as bosh-azure-cpi does
        const vmZone = vm.zones?.[0];
        if (vmZone !== undefined && (disk.zones ?? []).length === 0 && users.length === 0)
          disk = await this.migrateIntoZone(d, disk, vmZone);
        const used = new Set((vm.storageProfile?.dataDisks ?? []).map((x) => x.lun));
        let lun = 0;
        while (used.has(lun)) lun++;
        if (lun > 63) throw new AzureFault('Unknown', `VM '${vmCidArg}' has no free LUN left`);
        const caching = /-(None|ReadOnly|ReadWrite)$/.exec(d.name)?.[1] ?? 'None';
        const vmPath = this.resourceId(v.resourceGroupName, 'Microsoft.Compute/virtualMachines', vmNames(v.agentId).vm);
        await this.arm.run('POST', `${vmPath}/attachDetachDataDisks`, COMPUTE_API, {
          dataDisksToAttach: [{ diskId: disk.id as string, lun, caching, deleteOption: 'Detach' }],
        });
        return { lun: String(lun), host_device_id: AZURE_SCSI_HOST_DEVICE_ID };
      });
    });
  }

  detachDisk(vmCidArg: string, cid: string): Promise<void> {
    return this.call('detach_disk', async () => {
      const v = parseVmCid(vmCidArg, this.config.resourceGroupName);
      if (v === undefined) throw notFound('vm', String(vmCidArg));
      await this.withVmLock(v.resourceGroupName, vmNames(v.agentId).vm, async () => {
        const { vm } = await this.vm(vmCidArg);
        const { disk } = await this.disk(cid);
        const attached = vm.storageProfile?.dataDisks?.find(
          (x) => x.managedDisk?.id?.toLowerCase() === disk.id?.toLowerCase(),
        );
        if (attached === undefined)
          throw new AzureFault('DiskNotAttached', `Disk '${cid}' is not attached to VM '${vmCidArg}'`, 'disk');
        const vmPath = this.resourceId(v.resourceGroupName, 'Microsoft.Compute/virtualMachines', vmNames(v.agentId).vm);
        await this.arm.run('POST', `${vmPath}/attachDetachDataDisks`, COMPUTE_API, {
          dataDisksToDetach: [{ diskId: disk.id as string }],
        });
      });
    });
  }

  /**
   * Moves a regional disk into `zone` under the same name (so its cid stays): a snapshot, the
   * regional disk deleted, a zonal disk of the same name made from the snapshot, the snapshot
   * deleted. bosh-azure-cpi does the same when a zonal VM is given a regional disk. A failure
   * after the delete keeps the snapshot (named after the disk) so nothing is lost.
   */
  private async migrateIntoZone(id: DiskCid, disk: Disk, zone: string): Promise<Disk> {
    const rg = id.resourceGroupName;
    const diskPath = this.resourceId(rg, 'Microsoft.Compute/disks', id.name);
    const snapshotPath = this.resourceId(rg, 'Microsoft.Compute/snapshots', `${id.name}-zone-move`);
    await this.arm.run('PUT', snapshotPath, DISK_API, {
      location: disk.location,
      tags: disk.tags ?? {},
      sku: { name: 'Standard_LRS' },
      properties: { creationData: { createOption: 'Copy', sourceResourceId: disk.id }, incremental: false },
    });
    await this.arm.run('DELETE', diskPath, DISK_API);
    await this.arm.run('PUT', diskPath, DISK_API, {
      location: disk.location,
      tags: disk.tags ?? {},
      sku: { name: disk.sku?.name ?? 'Standard_LRS' },
      zones: [zone],
      properties: {
        creationData: { createOption: 'Copy', sourceResourceId: snapshotPath },
        diskSizeGB: disk.diskSizeGB,
        ...(disk.maxShares === undefined ? {} : { maxShares: disk.maxShares }),
      },
    });
    await gone(this.arm.run('DELETE', snapshotPath, DISK_API));
    return { ...disk, zones: [zone] };
  }

  hasDisk(cid: string): Promise<boolean> {
    return this.call('has_disk', async () => {
      const id = parseDiskCid(cid, this.config.resourceGroupName);
      if (id === undefined) return false;
      return (await orUndefined(this.clients.compute.disks.get(id.resourceGroupName, id.name))) !== undefined;
    });
  }

  getDisks(vmCidArg: string): Promise<readonly string[]> {
    return this.call('get_disks', async () => {
      const { id, vm } = await this.vm(vmCidArg);
      const ephemeral = vmNames(id.agentId).ephemeralDisk.toLowerCase();
      const out: string[] = [];
      for (const d of vm.storageProfile?.dataDisks ?? []) {
        const p = idParts(d.managedDisk?.id);
        if (p !== undefined && p.name.toLowerCase() !== ephemeral && d.toBeDetached !== true) out.push(diskCid(p));
      }
      return out;
    });
  }

  /** Grows a detached disk to `newSizeMiB` rounded up to GiB; equal size is a no-op. */
  resizeDisk(cid: string, newSizeMiB: number): Promise<void> {
    return this.call('resize_disk', async () => {
      if (!Number.isInteger(newSizeMiB) || newSizeMiB <= 0)
        throw invalid(`new size must be a positive whole number of MiB, found ${show(newSizeMiB)}`);
      const { id, disk } = await this.disk(cid);
      if (disk.managedBy !== undefined && disk.managedBy !== '')
        throw new AzureFault(
          'Unknown',
          `Disk '${cid}' must be detached to be resized (attached to '${disk.managedBy}')`,
        );
      const want = Math.ceil(newSizeMiB / 1024);
      const have = disk.diskSizeGB ?? 0;
      if (want < have) throw new AzureFault('Unknown', `Disk '${cid}' cannot shrink from ${have} GiB to ${want} GiB`);
      if (want === have) return;
      await this.clients.compute.disks.update(id.resourceGroupName, id.name, { diskSizeGB: want }, this.lro);
    });
  }

  snapshotDisk(cid: string, metadata: Readonly<Record<string, string>>): Promise<string> {
    return this.call('snapshot_disk', async () => {
      const { id, disk } = await this.disk(cid);
      const name = `bosh-snapshot-${randomUUID()}`;
      try {
        await this.clients.compute.snapshots.createOrUpdate(
          id.resourceGroupName,
          name,
          {
            location: disk.location,
            tags: tagValues({ ...(disk.tags ?? {}), ...(isPlainObject(metadata) ? metadata : {}) }),
            creationData: { createOption: 'Copy', sourceResourceId: disk.id as string },
            incremental: false,
          },
          this.lro,
        );
      } catch (err) {
        await gone(this.clients.compute.snapshots.delete(id.resourceGroupName, name, this.lro)).catch(() => undefined);
        throw err;
      }
      return diskCid({ name, resourceGroupName: id.resourceGroupName });
    });
  }

  deleteSnapshot(cid: string): Promise<void> {
    return this.call('delete_snapshot', async () => {
      const id = parseDiskCid(cid, this.config.resourceGroupName);
      if (id === undefined) return;
      await gone(this.clients.compute.snapshots.delete(id.resourceGroupName, id.name, this.lro));
    });
  }
}

/**
 * ARM's refusals of a VM PUT that are the cloud properties' fault, as InvalidCloudProperties
 * naming the property (the same rules checkCloudProperties applies at plan time, where it can).
 */
function vmRefusal(err: unknown, props: ReturnType<typeof parseVmProperties>): AzureFault | undefined {
  const { code, message } = azureErrorInfo(err);
  switch (code) {
    case 'SkuNotAvailable':
      return invalid(`cloud_properties.instance_type '${props.instanceType}': ${message}`);
    case 'ResizeDiskError':
      return invalid(`cloud_properties.root_disk.size: ${message}`);
    case 'OperationNotAllowed':
      return /data disks/.test(message)
        ? invalid(`cloud_properties.instance_type '${props.instanceType}': ${message}`)
        : undefined;
    case 'InvalidParameter':
      if (/storage account type/i.test(message))
        return invalid(
          `cloud_properties.${/dataDisks/.test(message) ? 'ephemeral_disk.type' : 'root_disk.type'} with instance_type '${props.instanceType}': ${message}`,
        );
      if (/zone/i.test(message))
        return invalid(`cloud_properties.availability_zone '${props.availabilityZone ?? ''}': ${message}`);
      if (/proximity placement group/i.test(message))
        return invalid(`cloud_properties.proximity_placement_group: ${message}`);
      return undefined;
    case 'NotFound':
      if (/\/images\//i.test(message))
        return notFound('stemcell', /\/images\/([^'\s]+)/i.exec(message)?.[1] ?? 'unknown');
      if (/proximity placement group/i.test(message))
        return invalid(`cloud_properties.proximity_placement_group: ${message}`);
      return undefined;
    default:
      return undefined;
  }
}
