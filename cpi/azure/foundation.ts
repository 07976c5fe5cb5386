import { isIPv4 } from 'node:net';
import type { LoadBalancer, NetworkInterface, NetworkSecurityGroup, SecurityRule } from '@azure/arm-network';
import type { VirtualMachine } from '@azure/arm-compute';
import { stringify } from 'yaml';
import { DirectorError } from '../../src/errors.js';
import type { AzureClients } from './clients.js';
import { isAzureNotFound } from './error-mapper.js';
import { deleteContainer, ensureContainers } from './vhd-upload.js';

/** One NSG rule: allow TCP (default) to `port` from `source` (a CIDR, an IP or a service tag). */
export interface FoundationRule {
  readonly name: string;
  readonly port: number;
  readonly source: string;
  readonly priority: number;
  readonly protocol: 'Tcp' | 'Udp' | '*';
}

export interface FoundationSecurityGroup {
  readonly name: string;
  readonly rules: readonly FoundationRule[];
}

/** A public load balancer: its public IP, one backend pool, a health probe and its rules. */
export interface FoundationLoadBalancer {
  readonly name: string;
  readonly publicIpName: string;
  readonly backendPool: string;
  readonly probe: { readonly port: number; readonly protocol: 'Tcp' | 'Http' | 'Https' };
  readonly rules: readonly { readonly frontend: number; readonly backend: number; readonly protocol: 'Tcp' | 'Udp' }[];
}

/**
 * The jumpbox: the director's gateway into the virtual network when it runs outside it (a small
 * VM with a public IP; SSH allowed only from the operator's CIDRs, there is no Internet-wide
 * default). From `foundation.jumpbox`.
 */
export interface FoundationJumpbox {
  readonly name: string;
  readonly vmSize: string;
  /** CIDRs (or IPs) allowed to reach its SSH port. */
  readonly allowedCidrs: readonly string[];
  readonly image: {
    readonly publisher: string;
    readonly offer: string;
    readonly sku: string;
    readonly version: string;
  };
  readonly user: string;
  /** A static private IP (one the cloud-config reserves, so no instance is given it); absent: dynamic. */
  readonly privateIp: string | undefined;
}

/** Who the jumpbox lets in and how it proves itself: the environment's key, a host key the director generated. */
export interface JumpboxIdentity {
  /** The director's OpenSSH public key, authorized for the jumpbox's user. */
  readonly authorizedKey: string;
  /** Goes into the VM's custom data: a secret, never logged. */
  readonly hostPrivateKey: string;
  readonly hostPublicKey: string;
}

/**
 * What `create-env` builds on Azure before the director exists: what the CFCR-on-Azure guide's
 * ARM template built by hand. Read from the Azure CPI properties and their `foundation:` block.
 */
export interface FoundationProps {
  readonly location: string;
  readonly resourceGroupName: string;
  readonly virtualNetworkName: string;
  /** The virtual network's address space (default: the subnet's range). */
  readonly addressSpace: readonly string[];
  readonly subnetName: string;
  readonly internalCidr: string;
  readonly securityGroups: readonly FoundationSecurityGroup[];
  readonly loadBalancers: readonly FoundationLoadBalancer[];
  readonly storageAccountName: string | undefined;
  /** Blob containers of the storage account (default bosh and stemcell, as bosh-azure-cpi uses). */
  readonly containers: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** `foundation.jumpbox`, when written (required when the director is to make one). */
  readonly jumpbox: FoundationJumpbox | undefined;
}

/** The result of `ensureFoundation`: what this run created, by ARM id (containers by URL-ish id). */
export interface FoundationResult {
  /** Ids this run created; record them and pass them to `deleteFoundation` (with earlier runs'). */
  readonly created: readonly string[];
  /** Ids that existed and matched already. */
  readonly unchanged: readonly string[];
  /** Ids that existed but differed, and were PUT again. */
  readonly updated: readonly string[];
  /** Public addresses by what holds them: each load balancer's name, and `jumpbox`. */
  readonly addresses: Readonly<Record<string, string>>;
}

export interface FoundationOptions {
  /** Poll interval of long-running operations without Retry-After (default 2000 ms). */
  readonly pollIntervalMs?: number;
  /** The blob endpoint of the storage account, when ARM's is not the one to use (e.g. Azurite). */
  readonly blobEndpoint?: (accountName: string) => string | Promise<string>;
  /** Ids recorded by earlier runs: a recorded container is trusted without a data-plane call. */
  readonly recorded?: readonly string[];
  /**
   * Called with a resource's id just before the request that would create it (it was read and
   * found missing), so that the caller can record the intent first: a process killed during
   * the request then still knows what it may have made.
   */
  readonly onIntent?: (id: string) => void;
  /** Make the jumpbox (`props.jumpbox`, then required) with this identity. */
  readonly jumpbox?: JumpboxIdentity;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;

function isCidr(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const [ip, bits] = v.split('/');
  return ip !== undefined && isIPv4(ip) && bits !== undefined && /^\d+$/.test(bits) && Number(bits) <= 32;
}

/**
 * Reads the foundation from the Azure CPI properties (`location`, `resource_group_name`,
 * `storage_account_name`, and the `foundation:` block of ops-files/azure.yml), reporting every
 * problem at once with its path.
 */
export function parseFoundationProps(cpiProperties: unknown): FoundationProps {
  if (!isPlainObject(cpiProperties))
    throw new DirectorError(
      `Validating the Azure foundation: expected the CPI properties map, found ${show(cpiProperties)}`,
    );
  const problems: string[] = [];
  const f = cpiProperties.foundation;
  if (!isPlainObject(f))
    throw new DirectorError(`Validating the Azure foundation: 'foundation' must be a map, found ${show(f)}`);
  const name = (at: string, v: unknown): string => {
    if (typeof v !== 'string' || !NAME.test(v))
      problems.push(`'${at}' must be an Azure resource name, found ${show(v)}`);
    return String(v);
  };
  const location = cpiProperties.location;
  if (typeof location !== 'string' || location === '')
    problems.push(`'location' must be an Azure region, found ${show(location)}`);
  const resourceGroupName = name('resource_group_name', cpiProperties.resource_group_name);
  const sa = cpiProperties.storage_account_name;
  if (sa !== undefined && (typeof sa !== 'string' || !/^[a-z0-9]{3,24}$/.test(sa)))
    problems.push(`'storage_account_name' must be 3-24 lower-case letters and digits, found ${show(sa)}`);
  const virtualNetworkName = name('foundation.virtual_network_name', f.virtual_network_name);
  const subnetName = name('foundation.subnet_name', f.subnet_name);
  const internalCidr = f.internal_cidr;
  if (!isCidr(internalCidr))
    problems.push(`'foundation.internal_cidr' must be an IPv4 CIDR, found ${show(internalCidr)}`);
  const addressSpace = f.address_space ?? [internalCidr];
  if (!Array.isArray(addressSpace) || addressSpace.length === 0 || !addressSpace.every(isCidr))
    problems.push(`'foundation.address_space' must be a list of IPv4 CIDRs, found ${show(addressSpace)}`);

  const securityGroups: FoundationSecurityGroup[] = [];
  const rawSgs = f.security_groups ?? [];
  if (!Array.isArray(rawSgs))
    problems.push(`'foundation.security_groups' must be a list of {name, rules}, found ${show(rawSgs)}`);
  else
    rawSgs.forEach((sg: unknown, i: number) => {
      const at = `foundation.security_groups[${i}]`;
      if (!isPlainObject(sg)) return void problems.push(`'${at}' must be a map {name, rules}, found ${show(sg)}`);
      const rules: FoundationRule[] = [];
      const rawRules = sg.rules ?? [];
      if (!Array.isArray(rawRules)) problems.push(`'${at}.rules' must be a list, found ${show(rawRules)}`);
      else
        rawRules.forEach((r: unknown, j: number) => {
          const rat = `${at}.rules[${j}]`;
          if (!isPlainObject(r))
            return void problems.push(`'${rat}' must be a map {name, port, source, priority}, found ${show(r)}`);
          if (!isPort(r.port)) problems.push(`'${rat}.port' must be a port number, found ${show(r.port)}`);
          const source = r.source ?? '*';
          if (typeof source !== 'string' || source === '')
            problems.push(`'${rat}.source' must be a CIDR, an IP or a service tag, found ${show(source)}`);
          const priority = r.priority;
          if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 100 || priority > 4096)
            problems.push(`'${rat}.priority' must be a whole number 100-4096, found ${show(priority)}`);
          const protocol = r.protocol ?? 'Tcp';
          if (protocol !== 'Tcp' && protocol !== 'Udp' && protocol !== '*')
            problems.push(`'${rat}.protocol' must be Tcp, Udp or *, found ${show(protocol)}`);
          rules.push({
            name: name(`${rat}.name`, r.name),
            port: Number(r.port),
            source: String(source),
            priority: Number(priority),
            protocol: protocol as FoundationRule['protocol'],
          });
        });
      securityGroups.push({ name: name(`${at}.name`, sg.name), rules });
    });

  const loadBalancers: FoundationLoadBalancer[] = [];
  const rawLbs = f.load_balancers ?? {};
  if (!isPlainObject(rawLbs))
    problems.push(
      `'foundation.load_balancers' must be a map of name to {public_ip_name, backend_pool, probe, rules}, found ${show(rawLbs)}`,
    );
  else
    for (const [lbName, lb] of Object.entries(rawLbs)) {
      const at = `foundation.load_balancers.${lbName}`;
      if (!isPlainObject(lb)) {
        problems.push(`'${at}' must be a map {public_ip_name, backend_pool, probe, rules}, found ${show(lb)}`);
        continue;
      }
      const probe = isPlainObject(lb.probe) ? lb.probe : {};
      if (!isPort(probe.port)) problems.push(`'${at}.probe.port' must be a port number, found ${show(probe.port)}`);
      const probeProtocol = probe.protocol ?? 'Tcp';
      if (probeProtocol !== 'Tcp' && probeProtocol !== 'Http' && probeProtocol !== 'Https')
        problems.push(`'${at}.probe.protocol' must be Tcp, Http or Https, found ${show(probeProtocol)}`);
      const rules: { frontend: number; backend: number; protocol: 'Tcp' | 'Udp' }[] = [];
      if (!Array.isArray(lb.rules) || lb.rules.length === 0)
        problems.push(`'${at}.rules' must be a non-empty list of {frontend, backend, protocol}`);
      else
        lb.rules.forEach((r: unknown, j: number) => {
          const rat = `${at}.rules[${j}]`;
          if (!isPlainObject(r))
            return void problems.push(`'${rat}' must be a map {frontend, backend, protocol}, found ${show(r)}`);
          if (!isPort(r.frontend)) problems.push(`'${rat}.frontend' must be a port number, found ${show(r.frontend)}`);
          if (!isPort(r.backend)) problems.push(`'${rat}.backend' must be a port number, found ${show(r.backend)}`);
          const protocol = r.protocol ?? 'Tcp';
          if (protocol !== 'Tcp' && protocol !== 'Udp')
            problems.push(`'${rat}.protocol' must be Tcp or Udp, found ${show(protocol)}`);
          rules.push({ frontend: Number(r.frontend), backend: Number(r.backend), protocol: protocol as 'Tcp' | 'Udp' });
        });
      loadBalancers.push({
        name: name(`${at}`, lbName),
        publicIpName: name(`${at}.public_ip_name`, lb.public_ip_name ?? `${lbName}-ip`),
        backendPool: name(`${at}.backend_pool`, lb.backend_pool ?? `${lbName}-pool`),
        probe: { port: Number(probe.port), protocol: probeProtocol as 'Tcp' | 'Http' | 'Https' },
        rules,
      });
    }
  const containers = f.containers ?? ['bosh', 'stemcell'];
  if (
    !Array.isArray(containers) ||
    !containers.every((c) => typeof c === 'string' && /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/.test(c))
  ) {
    problems.push(`'foundation.containers' must be a list of blob container names, found ${show(containers)}`);
  }
  const tags = f.tags ?? {};
  if (!isPlainObject(tags) || !Object.values(tags).every((v) => typeof v === 'string'))
    problems.push(`'foundation.tags' must be a map of strings, found ${show(tags)}`);
  let jumpbox: FoundationJumpbox | undefined;
  const j = f.jumpbox;
  if (j !== undefined) {
    if (!isPlainObject(j))
      problems.push(`'foundation.jumpbox' must be a map {allowed_cidrs, vm_size, image, user}, found ${show(j)}`);
    else {
      const cidrs = j.allowed_cidrs;
      const isSource = (c: unknown) => isCidr(c) || (typeof c === 'string' && isIPv4(c));
      if (!Array.isArray(cidrs) || cidrs.length === 0 || !cidrs.every(isSource)) {
        problems.push(
          `'foundation.jumpbox.allowed_cidrs' must list the IPv4 CIDRs that may SSH to the jumpbox (there is no Internet-wide default), found ${show(cidrs)}`,
        );
      } else if (cidrs.some((c) => /\/0$/.test(String(c))))
        problems.push(
          `'foundation.jumpbox.allowed_cidrs' opens the jumpbox to the whole Internet (${show(cidrs.find((c) => /\/0$/.test(String(c))))}): list the operators' networks`,
        );
      const image = isPlainObject(j.image)
        ? j.image
        : { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' };
      for (const k of ['publisher', 'offer', 'sku', 'version'] as const)
        if (typeof image[k] !== 'string' || image[k] === '')
          problems.push(`'foundation.jumpbox.image.${k}' must be a marketplace image's ${k}, found ${show(image[k])}`);
      const vmSize = j.vm_size ?? 'Standard_B1s';
      if (typeof vmSize !== 'string' || !/^[A-Za-z0-9_]+$/.test(vmSize))
        problems.push(`'foundation.jumpbox.vm_size' must be an Azure VM size, found ${show(vmSize)}`);
      const privateIp = j.private_ip;
      if (privateIp !== undefined && (typeof privateIp !== 'string' || !isIPv4(privateIp)))
        problems.push(
          `'foundation.jumpbox.private_ip' must be an IPv4 address in the subnet, found ${show(privateIp)}`,
        );
      const user = j.user ?? 'jumpbox';
      if (typeof user !== 'string' || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
        problems.push(`'foundation.jumpbox.user' must be a Linux user name, found ${show(user)}`);
      jumpbox = {
        name: name('foundation.jumpbox.name', j.name ?? 'jumpbox'),
        vmSize: String(vmSize),
        allowedCidrs: Array.isArray(cidrs) ? cidrs.map(String) : [],
        image: {
          publisher: String(image.publisher),
          offer: String(image.offer),
          sku: String(image.sku),
          version: String(image.version),
        },
        user: String(user),
        privateIp: privateIp as string | undefined,
      };
    }
  }
  if (problems.length > 0) throw new DirectorError(`Validating the Azure foundation: ${problems.join('; ')}`);
  return {
    location: location as string,
    resourceGroupName,
    virtualNetworkName,
    addressSpace: addressSpace as string[],
    subnetName,
    internalCidr: internalCidr as string,
    securityGroups,
    loadBalancers,
    storageAccountName: sa as string | undefined,
    containers: containers as string[],
    tags: tags as Record<string, string>,
    jumpbox,
  };
}

/** The jumpbox's NSG: SSH from each allowed CIDR, nothing else (Azure's default rules deny the rest inbound). */
function jumpboxSecurityGroup(j: FoundationJumpbox): FoundationSecurityGroup {
  return {
    name: `${j.name}-nsg`,
    rules: j.allowedCidrs.map((source, i) => ({
      name: `ssh-${i}`,
      port: 22,
      source,
      priority: 100 + i,
      protocol: 'Tcp' as const,
    })),
  };
}

/** The jumpbox's custom data: its user with the director's key, and the host key the director made. */
function jumpboxCloudConfig(j: FoundationJumpbox, id: JumpboxIdentity): string {
  const type = id.hostPublicKey.startsWith('ssh-rsa') ? 'rsa' : 'ed25519';
  const doc = {
    users: [{ name: j.user, shell: '/bin/bash', lock_passwd: true, ssh_authorized_keys: [id.authorizedKey] }],
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { [`${type}_private`]: id.hostPrivateKey, [`${type}_public`]: id.hostPublicKey },
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

const sameLocation = (a: string | undefined, b: string): boolean =>
  (a ?? '').toLowerCase().replace(/\s+/g, '') === b.toLowerCase().replace(/\s+/g, '');
const eqi = (a: string | undefined, b: string | undefined): boolean =>
  (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isAzureNotFound(err)) return undefined;
    throw err;
  }
}

/** A resource whose last write failed is not in place, whatever its properties say: it is written again. */
const failed = (r: { provisioningState?: string } | undefined): boolean => r?.provisioningState === 'Failed';

function sameTags(have: Readonly<Record<string, string>> | undefined, want: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([k, v]) => have?.[k] === v);
}

function ruleBody(r: FoundationRule): SecurityRule {
  return {
    name: r.name,
    protocol: r.protocol,
    sourcePortRange: '*',
    destinationPortRange: String(r.port),
    sourceAddressPrefix: r.source,
    destinationAddressPrefix: '*',
    access: 'Allow',
    priority: r.priority,
    direction: 'Inbound',
  };
}

function nsgMatches(
  have: NetworkSecurityGroup,
  want: FoundationSecurityGroup,
  tags: Readonly<Record<string, string>>,
): boolean {
  const rules = have.securityRules ?? [];
  if (rules.length !== want.rules.length || !sameTags(have.tags, tags)) return false;
  return want.rules.every((w) => {
    const h = rules.find((r) => r.name === w.name);
    const b = ruleBody(w);
    return (
      h !== undefined &&
      eqi(h.protocol, b.protocol) &&
      h.destinationPortRange === b.destinationPortRange &&
      h.sourceAddressPrefix === b.sourceAddressPrefix &&
      eqi(h.access, 'Allow') &&
      h.priority === b.priority &&
      eqi(h.direction, 'Inbound')
    );
  });
}

function lbMatches(
  have: LoadBalancer,
  want: FoundationLoadBalancer,
  publicIpId: string,
  tags: Readonly<Record<string, string>>,
): boolean {
  const fe = have.frontendIPConfigurations ?? [];
  const probes = have.probes ?? [];
  const rules = have.loadBalancingRules ?? [];
  return (
    sameTags(have.tags, tags) &&
    fe.length === 1 &&
    eqi(fe[0]?.publicIPAddress?.id, publicIpId) &&
    (have.backendAddressPools ?? []).some((p) => p.name === want.backendPool) &&
    probes.length === 1 &&
    probes[0]?.port === want.probe.port &&
    eqi(probes[0]?.protocol, want.probe.protocol) &&
    rules.length === want.rules.length &&
    want.rules.every((w) =>
      rules.some((r) => r.frontendPort === w.frontend && r.backendPort === w.backend && eqi(r.protocol, w.protocol)),
    )
  );
}

/**
 * Makes the foundation exist as `props` describe it: resource group, network security groups,
 * virtual network and subnet, public IPs, load balancers (pool, probe, rules), storage account
 * and its containers. Every resource is read first and written only when missing or different,
 * so a second run over an unchanged foundation makes no write request. Returns what it created,
 * so that `deleteFoundation` removes exactly that.
 */
export async function ensureFoundation(
  clients: AzureClients,
  props: FoundationProps,
  options: FoundationOptions = {},
): Promise<FoundationResult> {
  const jumpbox = options.jumpbox === undefined ? undefined : props.jumpbox;
  if (options.jumpbox !== undefined && jumpbox === undefined) {
    throw new DirectorError(
      "Validating the Azure foundation: 'foundation.jumpbox.allowed_cidrs' must list the IPv4 CIDRs that may SSH to the jumpbox (there is no Internet-wide default), found none; or set 'gateway: none' in the environment manifest when the director runs inside the virtual network",
    );
  }
  const lro = { updateIntervalInMs: options.pollIntervalMs ?? 2000 };
  const addresses: Record<string, string> = {};
  const created: string[] = [];
  const unchanged: string[] = [];
  const updated: string[] = [];
  const rg = props.resourceGroupName;
  const net = clients.network;
  const tags = props.tags;
  const note = (existed: boolean, id: string | undefined): void => {
    if (id !== undefined) (existed ? updated : created).push(id);
  };
  // A create whose answer was an error may still have made the resource (a long-running operation
  // that ended Failed, a lost response): its id is reported with what was created, so that a
  // recorded deletion covers it (deleting what does not exist is fine).
  const maybeCreated: string[] = [];
  const sub = clients.network.subscriptionId;
  const armId = (type: string, name: string) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}`;
  const creating = async <T>(existed: boolean, id: string, put: () => Promise<T>): Promise<T> => {
    if (!existed) options.onIntent?.(id);
    try {
      return await put();
    } catch (err) {
      if (!existed) maybeCreated.push(id);
      throw err;
    }
  };
  try {
    const group = await orUndefined(clients.resources.resourceGroups.get(rg));
    if (group === undefined) {
      const g = await creating(false, `/subscriptions/${sub}/resourceGroups/${rg}`, () =>
        clients.resources.resourceGroups.createOrUpdate(rg, { location: props.location, tags: { ...tags } }),
      );
      note(false, g.id);
    } else if (!sameLocation(group.location, props.location)) {
      throw new DirectorError(`resource group '${rg}' exists in '${group.location}', not in '${props.location}'`);
    } else unchanged.push(group.id as string);

    const nsgIds = new Map<string, string>();
    for (const sg of [...props.securityGroups, ...(jumpbox === undefined ? [] : [jumpboxSecurityGroup(jumpbox)])]) {
      const have = await orUndefined(net.networkSecurityGroups.get(rg, sg.name));
      if (have !== undefined && !failed(have) && nsgMatches(have, sg, tags)) {
        unchanged.push(have.id as string);
        nsgIds.set(sg.name, have.id as string);
        continue;
      }
      const put = await creating(have !== undefined, armId('Microsoft.Network/networkSecurityGroups', sg.name), () =>
        net.networkSecurityGroups.beginCreateOrUpdateAndWait(
          rg,
          sg.name,
          { location: props.location, tags: { ...tags }, securityRules: sg.rules.map(ruleBody) },
          lro,
        ),
      );
      note(have !== undefined, put.id);
      nsgIds.set(sg.name, put.id as string);
    }

    const vnet = await orUndefined(net.virtualNetworks.get(rg, props.virtualNetworkName));
    const subnetOf = vnet?.subnets?.find((s) => s.name === props.subnetName);
    const spaceMatches =
      vnet !== undefined &&
      [...(vnet.addressSpace?.addressPrefixes ?? [])].sort().join(',') === [...props.addressSpace].sort().join(',');
    if (vnet === undefined || !spaceMatches || failed(vnet)) {
      const subnets = (vnet?.subnets ?? [])
        .filter((s) => s.name !== props.subnetName)
        .map((s) => ({ name: s.name, addressPrefix: s.addressPrefix }));
      const put = await creating(
        vnet !== undefined,
        armId('Microsoft.Network/virtualNetworks', props.virtualNetworkName),
        () =>
          net.virtualNetworks.beginCreateOrUpdateAndWait(
            rg,
            props.virtualNetworkName,
            {
              location: props.location,
              tags: { ...tags },
              addressSpace: { addressPrefixes: [...props.addressSpace] },
              subnets: [...subnets, { name: props.subnetName, addressPrefix: props.internalCidr }],
            },
            lro,
          ),
      );
      note(vnet !== undefined, put.id);
    } else if (subnetOf === undefined || subnetOf.addressPrefix !== props.internalCidr || failed(subnetOf)) {
      const put = await creating(
        subnetOf !== undefined,
        `${armId('Microsoft.Network/virtualNetworks', props.virtualNetworkName)}/subnets/${props.subnetName}`,
        () =>
          net.subnets.beginCreateOrUpdateAndWait(
            rg,
            props.virtualNetworkName,
            props.subnetName,
            { addressPrefix: props.internalCidr },
            lro,
          ),
      );
      note(subnetOf !== undefined, put.id);
      unchanged.push(vnet.id as string);
    } else unchanged.push(vnet.id as string);

    /** A Standard static public IP; its id and address. */
    const publicIp = async (pipName: string): Promise<{ id: string; address: string | undefined }> => {
      const pip = await orUndefined(net.publicIPAddresses.get(rg, pipName));
      if (
        pip !== undefined &&
        !failed(pip) &&
        eqi(pip.sku?.name, 'Standard') &&
        eqi(pip.publicIPAllocationMethod, 'Static') &&
        sameTags(pip.tags, tags)
      ) {
        unchanged.push(pip.id as string);
        return { id: pip.id as string, address: pip.ipAddress };
      }
      const put = await creating(pip !== undefined, armId('Microsoft.Network/publicIPAddresses', pipName), () =>
        net.publicIPAddresses.beginCreateOrUpdateAndWait(
          rg,
          pipName,
          {
            location: props.location,
            tags: { ...tags },
            sku: { name: 'Standard' },
            publicIPAllocationMethod: 'Static',
          },
          lro,
        ),
      );
      note(pip !== undefined, put.id);
      return { id: put.id as string, address: put.ipAddress };
    };

    for (const lb of props.loadBalancers) {
      const pip = await publicIp(lb.publicIpName);
      const pipId = pip.id;
      if (pip.address !== undefined) addresses[lb.name] = pip.address;
      const have = await orUndefined(net.loadBalancers.get(rg, lb.name));
      if (have !== undefined && !failed(have) && lbMatches(have, lb, pipId as string, tags)) {
        unchanged.push(have.id as string);
        continue;
      }
      const lbId = `/subscriptions/${clients.network.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/loadBalancers/${lb.name}`;
      const child = (kind: string, n: string) => ({ id: `${lbId}/${kind}/${n}` });
      const put = await creating(have !== undefined, lbId, () =>
        net.loadBalancers.beginCreateOrUpdateAndWait(
          rg,
          lb.name,
          {
            location: props.location,
            tags: { ...tags },
            sku: { name: 'Standard' },
            frontendIPConfigurations: [{ name: 'frontend', publicIPAddress: { id: pipId as string } }],
            // keep pools that exist (their members are VMs the director made)
            backendAddressPools: [
              ...new Set([lb.backendPool, ...(have?.backendAddressPools ?? []).map((p) => p.name as string)]),
            ].map((name) => ({ name })),
            probes: [
              {
                name: 'health',
                protocol: lb.probe.protocol,
                port: lb.probe.port,
                intervalInSeconds: 5,
                numberOfProbes: 2,
                ...(lb.probe.protocol === 'Tcp' ? {} : { requestPath: '/healthz' }),
              },
            ],
            loadBalancingRules: lb.rules.map((r) => ({
              name: `${r.protocol.toLowerCase()}-${r.frontend}`,
              protocol: r.protocol,
              frontendPort: r.frontend,
              backendPort: r.backend,
              idleTimeoutInMinutes: 15,
              enableFloatingIP: false,
              frontendIPConfiguration: child('frontendIPConfigurations', 'frontend'),
              backendAddressPool: child('backendAddressPools', lb.backendPool),
              probe: child('probes', 'health'),
            })),
          },
          lro,
        ),
      );
      note(have !== undefined, put.id);
    }

    if (jumpbox !== undefined && options.jumpbox !== undefined) {
      const id = options.jumpbox;
      const pip = await publicIp(`${jumpbox.name}-ip`);
      if (pip.address !== undefined) addresses['jumpbox'] = pip.address;
      const nsgId = nsgIds.get(`${jumpbox.name}-nsg`) as string;
      const subnetId = `${armId('Microsoft.Network/virtualNetworks', props.virtualNetworkName)}/subnets/${props.subnetName}`;
      const nicName = `${jumpbox.name}-nic`;
      const nic = await orUndefined(net.networkInterfaces.get(rg, nicName));
      const config = nic?.ipConfigurations?.[0];
      let nicId = nic?.id;
      const ipMatches = jumpbox.privateIp === undefined || config?.privateIPAddress === jumpbox.privateIp;
      if (
        nic === undefined ||
        failed(nic) ||
        !ipMatches ||
        !eqi(config?.subnet?.id, subnetId) ||
        !eqi(config?.publicIPAddress?.id, pip.id) ||
        !eqi(nic.networkSecurityGroup?.id, nsgId) ||
        !sameTags(nic.tags, tags)
      ) {
        const body: NetworkInterface = {
          location: props.location,
          tags: { ...tags },
          networkSecurityGroup: { id: nsgId },
          ipConfigurations: [
            {
              name: 'ipconfig0',
              primary: true,
              subnet: { id: subnetId },
              ...(jumpbox.privateIp === undefined
                ? { privateIPAllocationMethod: 'Dynamic' }
                : { privateIPAllocationMethod: 'Static', privateIPAddress: jumpbox.privateIp }),
              publicIPAddress: { id: pip.id },
            },
          ],
        };
        const put = await creating(nic !== undefined, armId('Microsoft.Network/networkInterfaces', nicName), () =>
          net.networkInterfaces.beginCreateOrUpdateAndWait(rg, nicName, body, lro),
        );
        note(nic !== undefined, put.id);
        nicId = put.id;
      } else unchanged.push(nic.id as string);
      // Custom data cannot be read back (ARM never returns it): a VM in place is left as it is.
      const vm = await orUndefined(clients.compute.virtualMachines.get(rg, jumpbox.name));
      if (vm === undefined || failed(vm)) {
        const body: VirtualMachine = {
          location: props.location,
          tags: { ...tags, role: 'jumpbox' },
          hardwareProfile: { vmSize: jumpbox.vmSize },
          storageProfile: {
            imageReference: { ...jumpbox.image },
            osDisk: {
              name: `${jumpbox.name}-os-disk`,
              osType: 'Linux',
              createOption: 'FromImage',
              caching: 'ReadWrite',
              deleteOption: 'Delete',
              managedDisk: { storageAccountType: 'Standard_LRS' },
            },
          },
          osProfile: {
            computerName: jumpbox.name,
            adminUsername: jumpbox.user,
            customData: Buffer.from(jumpboxCloudConfig(jumpbox, id)).toString('base64'),
            linuxConfiguration: {
              disablePasswordAuthentication: true,
              ssh: { publicKeys: [{ path: `/home/${jumpbox.user}/.ssh/authorized_keys`, keyData: id.authorizedKey }] },
            },
          },
          networkProfile: { networkInterfaces: [{ id: nicId as string, primary: true, deleteOption: 'Detach' }] },
        };
        const put = await creating(
          vm !== undefined,
          `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${jumpbox.name}`,
          () => clients.compute.virtualMachines.beginCreateOrUpdateAndWait(rg, jumpbox.name, body, lro),
        );
        note(vm !== undefined, put.id);
        // its OS disk is made with it (and goes with it: deleteOption Delete); recorded all the same
        const osDisk = put.storageProfile?.osDisk?.managedDisk?.id;
        if (vm === undefined && osDisk !== undefined) created.push(osDisk);
      } else unchanged.push(vm.id as string);
    }

    const account = props.storageAccountName;
    if (account !== undefined) {
      const have = await orUndefined(clients.storage.storageAccounts.getProperties(rg, account));
      let accountId = have?.id;
      const accountCreated = have === undefined;
      if (have === undefined) {
        const put = await creating(false, armId('Microsoft.Storage/storageAccounts', account), () =>
          clients.storage.storageAccounts.create(
            rg,
            account,
            {
              location: props.location,
              tags: { ...tags },
              sku: { name: 'Standard_LRS' },
              kind: 'StorageV2',
              enableHttpsTrafficOnly: true,
              minimumTlsVersion: 'TLS1_2',
              allowBlobPublicAccess: false,
            },
            lro,
          ),
        );
        accountId = put.id;
        note(false, accountId);
      } else unchanged.push(have.id as string);
      const containerId = (c: string) => `${accountId}/blobServices/default/containers/${c}`;
      const recorded = new Set((options.recorded ?? []).map((r) => r.toLowerCase()));
      const toCheck = props.containers.filter((c) => accountCreated || !recorded.has(containerId(c).toLowerCase()));
      for (const c of props.containers) if (!toCheck.includes(c)) unchanged.push(containerId(c));
      if (toCheck.length > 0) {
        const keys = await clients.storage.storageAccounts.listKeys(rg, account);
        const key = keys.keys?.[0]?.value;
        const props2 = accountCreated ? undefined : have;
        const endpoint =
          (await options.blobEndpoint?.(account)) ??
          props2?.primaryEndpoints?.blob ??
          (await clients.storage.storageAccounts.getProperties(rg, account)).primaryEndpoints?.blob;
        if (key === undefined || endpoint === undefined)
          throw new DirectorError(`storage account '${account}' has no blob endpoint or key`);
        const made = await ensureContainers({ blobEndpoint: endpoint, accountName: account, accountKey: key }, toCheck);
        for (const c of toCheck) (made.includes(c) ? created : unchanged).push(containerId(c));
      }
    }
  } catch (err) {
    const e = new DirectorError(
      `Ensuring the Azure foundation in resource group '${rg}'${created.length > 0 ? ` (created so far: ${created.join(', ')})` : ''}`,
      { cause: err },
    );
    (e as DirectorError & { created?: readonly string[] }).created = [
      ...created,
      ...maybeCreated.filter((m) => !created.some((c) => c.toLowerCase() === m.toLowerCase())),
    ];
    throw e;
  }
  return { created, unchanged, updated, addresses };
}

/** The resource types in the order they can be deleted (users before what they use). */
const DELETE_ORDER = [
  'containers',
  'virtualmachines',
  'disks',
  'networkinterfaces',
  'loadbalancers',
  'publicipaddresses',
  'subnets',
  'virtualnetworks',
  'networksecuritygroups',
  'storageaccounts',
  'resourcegroups',
];

function kindOf(id: string): string {
  const parts = id.split('/').filter((p) => p !== '');
  if (parts.length === 4 && parts[2]?.toLowerCase() === 'resourcegroups') return 'resourcegroups';
  return (parts[parts.length - 2] ?? '').toLowerCase();
}

/**
 * Deletes exactly the resources `ensureFoundation` recorded as created (nothing it found), users
 * before what they use, the resource group last. Resources already gone are fine.
 */
export async function deleteFoundation(
  clients: AzureClients,
  recorded: readonly string[],
  options: {
    readonly pollIntervalMs?: number;
    readonly blobEndpoint?: (accountName: string) => string | Promise<string>;
  } = {},
): Promise<void> {
  const lro = { updateIntervalInMs: options.pollIntervalMs ?? 2000 };
  const ids = [...recorded].sort((a, b) => DELETE_ORDER.indexOf(kindOf(a)) - DELETE_ORDER.indexOf(kindOf(b)));
  const rgOf = (id: string) => /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '';
  const seg = (id: string, after: string) => new RegExp(`/${after}/([^/]+)`, 'i').exec(id)?.[1] ?? '';
  const gone = async (p: PromiseLike<unknown>) => {
    try {
      await p;
    } catch (err) {
      if (!isAzureNotFound(err)) throw err;
    }
  };
  for (const id of ids) {
    try {
      const rg = rgOf(id);
      switch (kindOf(id)) {
        case 'containers': {
          const account = seg(id, 'storageAccounts');
          const keys = await orUndefined(clients.storage.storageAccounts.listKeys(rg, account));
          const key = keys?.keys?.[0]?.value;
          if (key === undefined) break; // the account is gone, and its containers with it
          const endpoint =
            (await options.blobEndpoint?.(account)) ??
            (await clients.storage.storageAccounts.getProperties(rg, account)).primaryEndpoints?.blob;
          if (endpoint === undefined) break;
          await deleteContainer(
            { blobEndpoint: endpoint, accountName: account, accountKey: key },
            seg(id, 'containers'),
          );
          break;
        }
        case 'virtualmachines':
          await gone(clients.compute.virtualMachines.beginDeleteAndWait(rg, seg(id, 'virtualMachines'), lro));
          break;
        case 'disks':
          await gone(clients.compute.disks.beginDeleteAndWait(rg, seg(id, 'disks'), lro));
          break;
        case 'networkinterfaces':
          await gone(clients.network.networkInterfaces.beginDeleteAndWait(rg, seg(id, 'networkInterfaces'), lro));
          break;
        case 'loadbalancers':
          await gone(clients.network.loadBalancers.beginDeleteAndWait(rg, seg(id, 'loadBalancers'), lro));
          break;
        case 'publicipaddresses':
          await gone(clients.network.publicIPAddresses.beginDeleteAndWait(rg, seg(id, 'publicIPAddresses'), lro));
          break;
        case 'subnets':
          await gone(
            clients.network.subnets.beginDeleteAndWait(rg, seg(id, 'virtualNetworks'), seg(id, 'subnets'), lro),
          );
          break;
        case 'virtualnetworks':
          await gone(clients.network.virtualNetworks.beginDeleteAndWait(rg, seg(id, 'virtualNetworks'), lro));
          break;
        case 'networksecuritygroups':
          await gone(
            clients.network.networkSecurityGroups.beginDeleteAndWait(rg, seg(id, 'networkSecurityGroups'), lro),
          );
          break;
        case 'storageaccounts':
          await gone(clients.storage.storageAccounts.delete(rg, seg(id, 'storageAccounts')));
          break;
        case 'resourcegroups':
          await gone(clients.resources.resourceGroups.beginDeleteAndWait(rg, lro));
          break;
        default:
          throw new DirectorError(`not a foundation resource`);
      }
    } catch (err) {
      throw new DirectorError(`Deleting the Azure foundation: deleting '${id}'`, { cause: err });
    }
  }
}
