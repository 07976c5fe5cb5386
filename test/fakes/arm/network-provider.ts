import { ArmContext, type ArmResponse, type ProviderRequest } from './arm-context.js';
import { ArmError, invalidParameter, resourceNotFound } from './arm-error.js';
import { canonicalJson, clone, type Json, type StoredResource } from './arm-state.js';
import { normalizeLocation, parseResourceId, sameId, topLevelId } from './resource-id.js';
import { checkPublicIp, checkSecurityRules, checkSubnetsDisjoint, checkTags } from './rules.js';

/** api-versions accepted by Microsoft.Network (what @azure/arm-network 36 sends, and the reference examples'). */
export const NETWORK_API_VERSIONS = ['2025-05-01', '2025-07-01', '2026-01-01', '2024-05-01'];

const NS = 'Microsoft.Network';
const TYPES: Record<string, string> = {
  virtualnetworks: 'virtualNetworks',
  networksecuritygroups: 'networkSecurityGroups',
  publicipaddresses: 'publicIPAddresses',
  loadbalancers: 'loadBalancers',
  networkinterfaces: 'networkInterfaces',
  applicationsecuritygroups: 'applicationSecurityGroups',
};

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return NaN;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseCidr(cidr: string): { base: number; size: number } | undefined {
  const [ip, bits] = cidr.split('/');
  const b = Number(bits);
  const base = ipToInt(ip ?? '');
  if (Number.isNaN(base) || !Number.isInteger(b) || b < 0 || b > 32) return undefined;
  const size = 2 ** (32 - b);
  return { base: Math.floor(base / size) * size, size };
}

const DEFAULT_NSG_RULES: readonly [string, string, string, string, string, number, string][] = [
  [
    'AllowVnetInBound',
    'Allow inbound traffic from all VMs in VNET',
    'VirtualNetwork',
    'VirtualNetwork',
    'Allow',
    65000,
    'Inbound',
  ],
  [
    'AllowAzureLoadBalancerInBound',
    'Allow inbound traffic from azure load balancer',
    'AzureLoadBalancer',
    '*',
    'Allow',
    65001,
    'Inbound',
  ],
  ['DenyAllInBound', 'Deny all inbound traffic', '*', '*', 'Deny', 65500, 'Inbound'],
  [
    'AllowVnetOutBound',
    'Allow outbound traffic from all VMs to all VMs in VNET',
    'VirtualNetwork',
    'VirtualNetwork',
    'Allow',
    65000,
    'Outbound',
  ],
  [
    'AllowInternetOutBound',
    'Allow outbound traffic from all VMs to Internet',
    '*',
    'Internet',
    'Allow',
    65001,
    'Outbound',
  ],
  ['DenyAllOutBound', 'Deny all outbound traffic', '*', '*', 'Deny', 65500, 'Outbound'],
];

/**
 * Microsoft.Network: virtual networks and subnets, network security groups, public IPs, load
 * balancers (frontends, pools, probes, rules) and NICs, with the back-references ARM computes
 * (subnet and pool members, NIC's VM, public IP's ipConfiguration) and its in-use refusals.
 */
export class NetworkProvider {
  readonly namespace = NS;
  private readonly ctx: ArmContext;
  private publicIpCounter = 10;
  /**
   * Where a static public IP is placed, by the resource's name (a test world gives the addresses
   * it routes to its own namespaces); undefined: the fake's own 20.0.x.y sequence.
   */
  publicIpFor: ((name: string) => string | undefined) | undefined;

  constructor(ctx: ArmContext) {
    this.ctx = ctx;
  }

  /** The canonical spelling of a type this provider serves, or undefined. */
  canonicalType(type: string): string | undefined {
    return TYPES[type.toLowerCase()];
  }

  apiVersions(): readonly string[] {
    return NETWORK_API_VERSIONS;
  }

  async handle(req: ProviderRequest): Promise<ArmResponse> {
    const type = this.canonicalType(req.resourceType);
    if (!type)
      throw new ArmError(
        400,
        'InvalidResourceType',
        `The resource type '${req.resourceType}' could not be found in the namespace '${NS}' for api version '${req.apiVersion}'.`,
      );
    const group = this.ctx.state.requireGroup(req.resourceGroup);
    if (req.name === undefined) {
      if (req.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      return {
        status: 200,
        body: { value: this.ctx.state.list(`${NS}/${type}`, group.name).map((r) => this.render(r)) },
      };
    }
    const id = this.ctx.state.resourceId(group.name, `${NS}/${type}`, req.name);
    if (req.rest.length > 0) return this.handleChild(req, type, id);
    switch (req.method) {
      case 'GET': {
        const r = this.ctx.state.get(id);
        if (!r) throw resourceNotFound(`${NS}/${type}`, req.name, group.name);
        return { status: 200, body: this.render(r) };
      }
      case 'PUT':
        return this.put(req, type, id, group.name, group.location);
      case 'PATCH':
        return this.patchTags(req, type, id, group.name);
      case 'DELETE':
        return this.remove(req, type, id);
      default:
        throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  /** The resource as GET returns it, back-references included. */
  render(r: StoredResource): Json {
    const b = clone(r.body);
    b.etag = r.etag;
    switch (r.type) {
      case `${NS}/virtualNetworks`:
        for (const s of b.properties.subnets ?? []) this.decorateSubnet(s, r.etag);
        break;
      case `${NS}/loadBalancers`:
        this.decorateLoadBalancer(b, r.etag);
        break;
      case `${NS}/networkInterfaces`: {
        const vm = this.vmUsingNic(r.id);
        if (vm) {
          b.properties.virtualMachine = { id: vm.id };
          b.properties.macAddress = macFor(r.id);
          const nics: Json[] = vm.body.properties?.networkProfile?.networkInterfaces ?? [];
          const entry = nics.find((n) => sameId(n.id, r.id));
          b.properties.primary = nics.length === 1 || entry?.properties?.primary === true;
        }
        for (const c of b.properties.ipConfigurations ?? []) c.etag = r.etag;
        break;
      }
      case `${NS}/publicIPAddresses`: {
        const user = this.publicIpUser(r.id);
        if (user) b.properties.ipConfiguration = { id: user };
        break;
      }
      case `${NS}/networkSecurityGroups`:
        for (const c of [...(b.properties.securityRules ?? []), ...(b.properties.defaultSecurityRules ?? [])])
          c.etag = r.etag;
        break;
    }
    return b;
  }

  private decorateSubnet(s: Json, etag: string): void {
    s.etag = etag;
    const users = this.ipConfigsInSubnet(s.id).map((u) => ({ id: u.configId }));
    if (users.length) s.properties.ipConfigurations = users;
    else delete s.properties.ipConfigurations;
  }

  private decorateLoadBalancer(b: Json, etag: string): void {
    const p = b.properties;
    const rules: Json[] = p.loadBalancingRules ?? [];
    const refs = (field: string, id: string): Json[] =>
      rules.filter((x) => sameId(x.properties?.[field]?.id, id)).map((x) => ({ id: x.id }));
    for (const f of p.frontendIPConfigurations ?? []) {
      f.etag = etag;
      const lr = refs('frontendIPConfiguration', f.id);
      if (lr.length) f.properties.loadBalancingRules = lr;
    }
    for (const pool of p.backendAddressPools ?? []) {
      pool.etag = etag;
      const members = this.nicConfigsInPool(pool.id).map((id) => ({ id }));
      if (members.length) pool.properties.backendIPConfigurations = members;
      const lr = refs('backendAddressPool', pool.id);
      if (lr.length) pool.properties.loadBalancingRules = lr;
    }
    for (const pr of p.probes ?? []) {
      pr.etag = etag;
      const lr = refs('probe', pr.id);
      if (lr.length) pr.properties.loadBalancingRules = lr;
    }
    for (const r of rules) r.etag = etag;
  }

  private nics(): StoredResource[] {
    return this.ctx.state.list(`${NS}/networkInterfaces`);
  }

  /** NIC ip configurations (and LB frontends) whose subnet is `subnetId`. */
  private ipConfigsInSubnet(subnetId: string): { configId: string; ip?: string }[] {
    const out: { configId: string; ip?: string }[] = [];
    for (const nic of this.nics()) {
      for (const c of nic.body.properties.ipConfigurations ?? []) {
        if (sameId(c.properties?.subnet?.id, subnetId)) out.push({ configId: c.id, ip: c.properties.privateIPAddress });
      }
    }
    for (const lb of this.ctx.state.list(`${NS}/loadBalancers`)) {
      for (const f of lb.body.properties.frontendIPConfigurations ?? []) {
        if (sameId(f.properties?.subnet?.id, subnetId)) out.push({ configId: f.id, ip: f.properties.privateIPAddress });
      }
    }
    return out;
  }

  private nicConfigsInPool(poolId: string): string[] {
    const out: string[] = [];
    for (const nic of this.nics()) {
      for (const c of nic.body.properties.ipConfigurations ?? []) {
        if ((c.properties?.loadBalancerBackendAddressPools ?? []).some((p: Json) => sameId(p.id, poolId)))
          out.push(c.id);
      }
    }
    return out;
  }

  private vmUsingNic(nicId: string): StoredResource | undefined {
    return this.ctx.state
      .list('Microsoft.Compute/virtualMachines')
      .find((vm) =>
        (vm.body.properties?.networkProfile?.networkInterfaces ?? []).some((n: Json) => sameId(n.id, nicId)),
      );
  }

  private publicIpUser(pipId: string): string | undefined {
    for (const nic of this.nics()) {
      for (const c of nic.body.properties.ipConfigurations ?? [])
        if (sameId(c.properties?.publicIPAddress?.id, pipId)) return c.id;
    }
    for (const lb of this.ctx.state.list(`${NS}/loadBalancers`)) {
      for (const f of lb.body.properties.frontendIPConfigurations ?? [])
        if (sameId(f.properties?.publicIPAddress?.id, pipId)) return f.id;
    }
    return undefined;
  }

  // ---- writes ------------------------------------------------------------------------------

  private async put(
    req: ProviderRequest,
    type: string,
    id: string,
    rg: string,
    rgLocation: string,
  ): Promise<ArmResponse> {
    const body = req.body;
    if (!body || typeof body !== 'object')
      throw invalidParameter('The request content was invalid and could not be deserialized.');
    const existing = this.ctx.state.get(id);
    const inputKey = canonicalJson(body);
    if (existing && existing.inputKey === inputKey && existing.body.properties.provisioningState === 'Succeeded') {
      return { status: 200, body: this.render(existing) };
    }
    if (existing && existing.body.properties.provisioningState === 'Deleting') {
      throw new ArmError(
        409,
        'AnotherOperationInProgress',
        `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${id}`,
      );
    }
    this.ctx.refuseBusy(req, [id]);
    checkTags(body.tags, id);
    if (type === 'publicIPAddresses') checkPublicIp(body, id);
    if (type === 'networkSecurityGroups') checkSecurityRules(body.properties?.securityRules ?? [], id);
    const location = normalizeLocation(body.location ?? existing?.body.location ?? rgLocation);
    const name = req.name!;
    const props = this.buildProperties(type, id, body.properties ?? {}, existing);
    const doc: Json = {
      name,
      id,
      type: `${NS}/${type}`,
      location,
      ...(body.tags ? { tags: body.tags } : {}),
      ...(body.sku
        ? { sku: body.sku }
        : type === 'publicIPAddresses'
          ? { sku: { name: 'Standard', tier: 'Regional' } }
          : type === 'loadBalancers'
            ? { sku: { name: 'Standard', tier: 'Regional' } }
            : {}),
      ...(body.zones ? { zones: body.zones } : {}),
      properties: { ...props, provisioningState: 'Updating' },
    };
    if (type === 'publicIPAddresses') this.allocatePublicIp(doc, existing, name);
    const record: StoredResource = {
      id,
      name,
      type: `${NS}/${type}`,
      resourceGroup: rg,
      etag: ArmContext.networkEtag(),
      body: doc,
      inputKey,
    };
    this.ctx.state.put(record);
    if (type === 'networkInterfaces' || type === 'applicationSecurityGroups') {
      // A NIC (or an application security group) PUT is done when it answers: 200/201 with
      // provisioningState Succeeded; its Azure-AsyncOperation already reports Succeeded. Source:
      // the NetworkInterfaceCreate.json / ApplicationSecurityGroupCreate.json examples (201 body
      // "provisioningState": "Succeeded").
      this.setState(id, 'Succeeded');
      const { headers } = this.ctx.finishedOperation(req, location, 'network');
      return { status: existing ? 200 : 201, body: this.render(record), headers };
    }
    const { headers } = this.ctx.startOperation(
      req,
      location,
      'network',
      {
        kind: 'network',
        holds: [id],
        onSuccess: () => this.setState(id, 'Succeeded'),
        onFailure: () => this.setState(id, 'Failed'),
      },
      false,
    );
    return { status: existing ? 200 : 201, body: this.render(record), headers };
  }

  private setState(id: string, state: string): void {
    const r = this.ctx.state.get(id);
    if (!r) return;
    r.body.properties.provisioningState = state;
    for (const key of [
      'subnets',
      'ipConfigurations',
      'frontendIPConfigurations',
      'backendAddressPools',
      'probes',
      'loadBalancingRules',
      'securityRules',
      'defaultSecurityRules',
    ]) {
      for (const c of r.body.properties[key] ?? []) if (c.properties) c.properties.provisioningState = state;
    }
  }

  private async patchTags(req: ProviderRequest, type: string, id: string, rg: string): Promise<ArmResponse> {
    const r = this.ctx.state.get(id);
    if (!r) throw resourceNotFound(`${NS}/${type}`, req.name!, rg);
    if (req.body?.tags !== undefined) {
      r.body.tags = req.body.tags;
      r.etag = ArmContext.networkEtag();
    }
    return { status: 200, body: this.render(r) };
  }

  private async remove(req: ProviderRequest, type: string, id: string): Promise<ArmResponse> {
    const r = this.ctx.state.get(id);
    if (!r) return { status: 204 };
    this.ctx.refuseBusy(req, [id]);
    this.refuseDelete(type, r);
    if (type === 'networkInterfaces') this.ctx.refuseReservedNic(id, undefined);
    r.body.properties.provisioningState = 'Deleting';
    const { headers } = this.ctx.startOperation(
      req,
      r.body.location,
      'network',
      {
        kind: 'networkDelete',
        holds: [id],
        onSuccess: () => this.ctx.state.delete(id),
        onFailure: () => this.setState(id, 'Failed'),
      },
      true,
    );
    return { status: 202, headers };
  }

  private refuseDelete(type: string, r: StoredResource): void {
    switch (type) {
      case 'networkInterfaces': {
        const vm = this.vmUsingNic(r.id);
        if (vm) {
          throw new ArmError(
            400,
            'NicInUse',
            `Network Interface ${r.id} is used by existing resource ${vm.id}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
          );
        }
        break;
      }
      case 'publicIPAddresses': {
        const user = this.publicIpUser(r.id);
        if (user) {
          throw new ArmError(
            400,
            'PublicIPAddressCannotBeDeleted',
            `Public IP address ${r.id} can not be deleted since it is still allocated to resource ${user}. In order to delete the public IP, disassociate/detach the Public IP address from the resource. To learn how to do this, see aka.ms/deletepublicip.`,
          );
        }
        break;
      }
      case 'networkSecurityGroups': {
        const users = this.nics()
          .filter((n) => sameId(n.body.properties.networkSecurityGroup?.id, r.id))
          .map((n) => n.id);
        for (const vnet of this.ctx.state.list(`${NS}/virtualNetworks`)) {
          for (const s of vnet.body.properties.subnets ?? [])
            if (sameId(s.properties?.networkSecurityGroup?.id, r.id)) users.push(s.id);
        }
        if (users.length) {
          throw new ArmError(
            400,
            'InUseNetworkSecurityGroupCannotBeDeleted',
            `Network security group ${r.id} cannot be deleted because it is in use by the following resources: ${users.join(', ')}. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.`,
          );
        }
        break;
      }
      case 'virtualNetworks':
        for (const s of r.body.properties.subnets ?? []) this.refuseSubnetDelete(s);
        break;
      case 'loadBalancers':
        for (const pool of r.body.properties.backendAddressPools ?? []) {
          const members = this.nicConfigsInPool(pool.id);
          if (members.length) {
            throw new ArmError(
              400,
              'InUseLoadBalancerBackendAddressPoolCannotBeDeleted',
              `Load balancer backend address pool ${pool.id} is in use by ${members.join(', ')} and cannot be deleted.`,
            );
          }
        }
        break;
    }
  }

  private refuseSubnetDelete(s: Json): void {
    const users = this.ipConfigsInSubnet(s.id);
    if (users.length) {
      throw new ArmError(
        400,
        'InUseSubnetCannotBeDeleted',
        `Subnet ${s.name} is in use by ${users[0]!.configId} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`,
      );
    }
  }

  // ---- building bodies ---------------------------------------------------------------------

  private buildProperties(type: string, id: string, p: Json, existing: StoredResource | undefined): Json {
    const child = (kind: string, c: Json): Json => {
      if (!c?.name) throw invalidParameter(`A '${kind}' entry of ${id} has no name.`);
      return {
        name: c.name,
        id: `${id}/${kind}/${c.name}`,
        ...(c.type ? {} : {}),
        properties: { ...(c.properties ?? {}), provisioningState: 'Updating' },
      };
    };
    switch (type) {
      case 'virtualNetworks': {
        const prefixes: Json[] = p.addressSpace?.addressPrefixes ?? [];
        if (!prefixes.length || prefixes.some((x) => !parseCidr(String(x))))
          throw invalidParameter(`Virtual network ${id} must have valid addressSpace.addressPrefixes.`);
        const subnets = (p.subnets ?? []).map((s: Json) => this.buildSubnet(id, s, prefixes));
        checkSubnetsDisjoint(
          id.split('/').pop()!,
          subnets.map((s: Json) => ({ name: s.name, addressPrefix: String(s.properties.addressPrefix) })),
        );
        for (const old of existing?.body.properties.subnets ?? []) {
          if (!subnets.some((s: Json) => sameId(s.id, old.id))) this.refuseSubnetDelete(old);
        }
        return {
          ...p,
          addressSpace: { addressPrefixes: prefixes },
          subnets,
          virtualNetworkPeerings: p.virtualNetworkPeerings ?? [],
        };
      }
      case 'networkSecurityGroups': {
        const rules = (p.securityRules ?? []).map((r: Json) => {
          const c = child('securityRules', r);
          c.type = `${NS}/networkSecurityGroups/securityRules`;
          return c;
        });
        const defaults = DEFAULT_NSG_RULES.map(([name, description, src, dst, access, priority, direction]) => ({
          name,
          id: `${id}/defaultSecurityRules/${name}`,
          type: `${NS}/networkSecurityGroups/defaultSecurityRules`,
          properties: {
            description,
            protocol: '*',
            sourcePortRange: '*',
            destinationPortRange: '*',
            sourceAddressPrefix: src,
            destinationAddressPrefix: dst,
            access,
            priority,
            direction,
            provisioningState: 'Updating',
          },
        }));
        return { ...p, securityRules: rules, defaultSecurityRules: defaults };
      }
      case 'publicIPAddresses':
        return {
          ...p,
          publicIPAddressVersion: p.publicIPAddressVersion ?? 'IPv4',
          publicIPAllocationMethod: p.publicIPAllocationMethod ?? 'Static',
          idleTimeoutInMinutes: p.idleTimeoutInMinutes ?? 4,
          ipTags: p.ipTags ?? [],
        };
      case 'loadBalancers': {
        const sub = (kind: string, t: string) =>
          (p[kind] ?? []).map((c: Json) => ({ ...child(kind, c), type: `${NS}/loadBalancers/${t}` }));
        const out: Json = {
          ...p,
          frontendIPConfigurations: sub('frontendIPConfigurations', 'frontendIPConfigurations'),
          backendAddressPools: sub('backendAddressPools', 'backendAddressPools'),
          probes: sub('probes', 'probes'),
          loadBalancingRules: sub('loadBalancingRules', 'loadBalancingRules'),
          inboundNatRules: sub('inboundNatRules', 'inboundNatRules'),
          inboundNatPools: p.inboundNatPools ?? [],
          outboundRules: p.outboundRules ?? [],
        };
        for (const f of out.frontendIPConfigurations) {
          const pip = f.properties.publicIPAddress?.id;
          if (pip && !this.ctx.state.get(pip)) throw invalidReference(pip, id);
          if (f.properties.subnet?.id) {
            const s = this.findSubnet(f.properties.subnet.id);
            if (!s) throw invalidReference(f.properties.subnet.id, id);
            f.properties.privateIPAllocationMethod ??= 'Dynamic';
            f.properties.privateIPAddressVersion ??= 'IPv4';
            f.properties.privateIPAddress = this.allocatePrivateIp(
              s,
              f.id,
              f.properties.privateIPAllocationMethod,
              f.properties.privateIPAddress,
              existing,
            );
          }
        }
        const known = (kind: string, ref: Json) => !ref?.id || out[kind].some((c: Json) => sameId(c.id, ref.id));
        for (const r of out.loadBalancingRules) {
          const rp = r.properties;
          if (!known('frontendIPConfigurations', rp.frontendIPConfiguration))
            throw invalidReference(rp.frontendIPConfiguration.id, r.id);
          if (!known('backendAddressPools', rp.backendAddressPool))
            throw invalidReference(rp.backendAddressPool.id, r.id);
          if (!known('probes', rp.probe)) throw invalidReference(rp.probe.id, r.id);
        }
        for (const old of existing?.body.properties.backendAddressPools ?? []) {
          if (
            !out.backendAddressPools.some((x: Json) => sameId(x.id, old.id)) &&
            this.nicConfigsInPool(old.id).length
          ) {
            throw new ArmError(
              400,
              'InUseLoadBalancerBackendAddressPoolCannotBeDeleted',
              `Load balancer backend address pool ${old.id} is in use and cannot be removed.`,
            );
          }
        }
        return out;
      }
      case 'networkInterfaces':
        return this.buildNic(id, p, existing);
    }
    return p;
  }

  private buildSubnet(vnetId: string, s: Json, prefixes: Json[]): Json {
    if (!s?.name) throw invalidParameter(`A subnet of ${vnetId} has no name.`);
    const sp = s.properties ?? {};
    const cidr = parseCidr(String(sp.addressPrefix ?? ''));
    if (!cidr)
      throw new ArmError(
        400,
        'InvalidAddressPrefixFormat',
        `Address prefix ${sp.addressPrefix} of resource ${vnetId}/subnets/${s.name} is not formatted correctly.`,
      );
    const inside = prefixes.some((x) => {
      const v = parseCidr(String(x))!;
      return cidr.base >= v.base && cidr.base + cidr.size <= v.base + v.size;
    });
    if (!inside)
      throw new ArmError(
        400,
        'NetcfgSubnetRangeOutsideVnet',
        `Subnet '${s.name}' is not valid because its IP address range is outside the IP address range of virtual network '${vnetId.split('/').pop()}'.`,
      );
    if (sp.networkSecurityGroup?.id && !this.ctx.state.get(sp.networkSecurityGroup.id))
      throw invalidReference(sp.networkSecurityGroup.id, `${vnetId}/subnets/${s.name}`);
    const out: Json = {
      name: s.name,
      id: `${vnetId}/subnets/${s.name}`,
      type: `${NS}/virtualNetworks/subnets`,
      properties: { ...sp, provisioningState: 'Updating' },
    };
    delete out.properties.ipConfigurations;
    return out;
  }

  private buildNic(id: string, p: Json, existing: StoredResource | undefined): Json {
    const configs: Json[] = p.ipConfigurations ?? [];
    if (!configs.length) throw invalidParameter(`Network interface ${id} must have one or more IP configurations.`);
    if (p.networkSecurityGroup?.id && !this.ctx.state.get(p.networkSecurityGroup.id))
      throw invalidReference(p.networkSecurityGroup.id, id);
    const out = configs.map((c, i) => {
      if (!c?.name) throw invalidParameter(`An IP configuration of ${id} has no name.`);
      const cid = `${id}/ipConfigurations/${c.name}`;
      const cp: Json = { ...(c.properties ?? {}) };
      // A secondary IP configuration may leave its subnet out: it is in the primary's. Source:
      // the NetworkInterfaceCreate.json example (ipconfig2 has no subnet; 200/201).
      const subnetId = cp.subnet?.id ?? (i > 0 ? configs[0]?.properties?.subnet?.id : undefined);
      if (!subnetId) throw invalidParameter(`IP configuration ${cid} must reference a subnet.`);
      cp.subnet = { id: subnetId };
      const subnet = this.findSubnet(subnetId);
      if (!subnet) throw invalidReference(subnetId, id);
      if (cp.publicIPAddress?.id) {
        if (!this.ctx.state.get(cp.publicIPAddress.id)) throw invalidReference(cp.publicIPAddress.id, id);
        const user = this.publicIpUser(cp.publicIPAddress.id);
        if (user && !sameId(topLevelId(user), id)) {
          throw new ArmError(
            400,
            'PublicIPAddressInUse',
            `Resource ${cp.publicIPAddress.id} is referenced by ${user} and cannot be used by ${cid}.`,
          );
        }
      }
      for (const pool of cp.loadBalancerBackendAddressPools ?? []) {
        if (!this.findChild(pool.id, 'backendAddressPools')) throw invalidReference(pool.id, id);
      }
      for (const asg of cp.applicationSecurityGroups ?? []) {
        if (!this.ctx.state.get(String(asg.id ?? ''))) throw invalidReference(String(asg.id), id);
      }
      const method = cp.privateIPAllocationMethod ?? (cp.privateIPAddress ? 'Static' : 'Dynamic');
      cp.privateIPAllocationMethod = method;
      cp.privateIPAddressVersion = cp.privateIPAddressVersion ?? 'IPv4';
      cp.primary = cp.primary ?? i === 0;
      cp.privateIPAddress = this.allocatePrivateIp(subnet, cid, method, cp.privateIPAddress, existing);
      cp.provisioningState = 'Updating';
      return { name: c.name, id: cid, type: `${NS}/networkInterfaces/ipConfigurations`, properties: cp };
    });
    return {
      ...p,
      ipConfigurations: out,
      dnsSettings: { dnsServers: p.dnsSettings?.dnsServers ?? [], appliedDnsServers: [] },
      enableAcceleratedNetworking: p.enableAcceleratedNetworking ?? false,
      enableIPForwarding: p.enableIPForwarding ?? false,
      vnetEncryptionSupported: false,
      disableTcpStateTracking: false,
      nicType: 'Standard',
    };
  }

  /** A subnet (as stored inside its vnet) by id. */
  findSubnet(subnetId: string): Json | undefined {
    return this.findChild(subnetId, 'subnets');
  }

  private findChild(childId: string, kind: string): Json | undefined {
    const top = topLevelId(childId);
    const parts = parseResourceId(childId);
    if (!top || !parts || parts.children.length !== 2 || parts.children[0]!.toLowerCase() !== kind.toLowerCase())
      return undefined;
    const parent = this.ctx.state.get(top);
    return (parent?.body.properties?.[kind] ?? []).find((c: Json) => sameId(c.id, childId));
  }

  private allocatePrivateIp(
    subnet: Json,
    configId: string,
    method: string,
    requested: string | undefined,
    existing: StoredResource | undefined,
  ): string {
    const cidr = parseCidr(String(subnet.properties.addressPrefix))!;
    const first = cidr.base + 4;
    const last = cidr.base + cidr.size - 2;
    const taken = new Set(
      this.ipConfigsInSubnet(subnet.id)
        .filter((u) => !sameId(topLevelId(u.configId), topLevelId(configId)))
        .map((u) => u.ip),
    );
    if (method === 'Static') {
      const n = ipToInt(String(requested ?? ''));
      if (Number.isNaN(n))
        throw invalidParameter(`IP configuration ${configId} has an invalid static private IP address '${requested}'.`);
      if (n < cidr.base || n >= cidr.base + cidr.size) {
        throw new ArmError(
          400,
          'PrivateIPAddressNotInSubnet',
          `IP configuration ${configId} is using the private IP address ${requested} which is not in the address range of subnet ${subnet.id}.`,
        );
      }
      if (n < first || n > last) {
        throw new ArmError(
          400,
          'PrivateIPAddressInReservedRange',
          `Private static IP address ${requested} falls within reserved IP range of subnet prefix ${subnet.properties.addressPrefix}.`,
        );
      }
      if (taken.has(requested)) {
        throw new ArmError(
          400,
          'PrivateIPAddressInUse',
          `IP configuration ${configId} is using the private IP address ${requested} which is already allocated to another resource.`,
        );
      }
      return requested!;
    }
    const before = existing?.body.properties?.ipConfigurations?.find((c: Json) => sameId(c.id, configId));
    if (
      before &&
      sameId(before.properties?.subnet?.id, subnet.id) &&
      before.properties.privateIPAddress &&
      !taken.has(before.properties.privateIPAddress)
    ) {
      return before.properties.privateIPAddress;
    }
    for (let n = first; n <= last; n++) if (!taken.has(intToIp(n))) return intToIp(n);
    throw new ArmError(
      400,
      'SubnetIsFull',
      `Subnet ${subnet.id} with address prefix ${subnet.properties.addressPrefix} does not have enough capacity for 1 IP addresses.`,
    );
  }

  private allocatePublicIp(doc: Json, existing: StoredResource | undefined, name: string): void {
    const before = existing?.body.properties?.ipAddress;
    if (doc.properties.publicIPAllocationMethod === 'Static') {
      doc.properties.ipAddress =
        before ??
        this.publicIpFor?.(name) ??
        `20.0.${Math.floor(this.publicIpCounter / 250)}.${(this.publicIpCounter++ % 250) + 1}`;
    }
  }

  // ---- child resources (subnets, backend pools) -------------------------------------------

  private async handleChild(req: ProviderRequest, type: string, parentId: string): Promise<ArmResponse> {
    const [kind, childName, ...more] = req.rest;
    const parent = this.ctx.state.get(parentId);
    const rg = req.resourceGroup;
    const childKinds: Record<string, string[]> = {
      virtualNetworks: ['subnets'],
      loadBalancers: ['backendAddressPools', 'frontendIPConfigurations', 'probes', 'loadBalancingRules'],
      networkInterfaces: ['ipConfigurations'],
      networkSecurityGroups: ['securityRules', 'defaultSecurityRules'],
    };
    const k = (childKinds[type] ?? []).find((x) => x.toLowerCase() === kind?.toLowerCase());
    if (!k || more.length) throw new ArmError(404, 'NotFound', `The requested resource ${req.path} does not exist.`);
    if (!parent) throw resourceNotFound(`${NS}/${type}`, req.name!, rg);
    const rendered = this.render(parent);
    const list: Json[] = rendered.properties[k] ?? [];
    if (childName === undefined) {
      if (req.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      return { status: 200, body: { value: list } };
    }
    const childId = `${parent.id}/${k}/${childName}`;
    const found = list.find((c) => sameId(c.id, childId));
    if (req.method === 'GET') {
      if (!found) throw new ArmError(404, 'NotFound', `Resource ${childId} not found.`);
      return { status: 200, body: found };
    }
    if (type !== 'virtualNetworks' || (req.method !== 'PUT' && req.method !== 'DELETE')) {
      throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    }
    return req.method === 'PUT' ? this.putSubnet(req, parent, childName!) : this.deleteSubnet(req, parent, childId);
  }

  private async putSubnet(req: ProviderRequest, vnet: StoredResource, name: string): Promise<ArmResponse> {
    const subnets: Json[] = vnet.body.properties.subnets;
    const childId = `${vnet.id}/subnets/${name}`;
    const idx = subnets.findIndex((s) => sameId(s.id, childId));
    const input = { name, properties: req.body?.properties ?? {} };
    if (
      idx >= 0 &&
      canonicalJson(withoutState(subnets[idx])) ===
        canonicalJson(
          withoutState(this.buildSubnet(vnet.id, input, vnet.body.properties.addressSpace.addressPrefixes)),
        ) &&
      subnets[idx].properties.provisioningState === 'Succeeded'
    ) {
      return { status: 200, body: this.render(vnet).properties.subnets[idx] };
    }
    const built = this.buildSubnet(vnet.id, input, vnet.body.properties.addressSpace.addressPrefixes);
    checkSubnetsDisjoint(
      vnet.name,
      [...subnets.filter((_, i) => i !== idx), built].map((x: Json) => ({
        name: x.name,
        addressPrefix: String(x.properties.addressPrefix),
      })),
    );
    if (idx >= 0) subnets[idx] = built;
    else subnets.push(built);
    vnet.etag = ArmContext.networkEtag();
    vnet.inputKey = '';
    const { headers } = this.ctx.startOperation(
      req,
      vnet.body.location,
      'network',
      {
        kind: 'network',
        onSuccess: () => (built.properties.provisioningState = 'Succeeded'),
        onFailure: () => (built.properties.provisioningState = 'Failed'),
      },
      false,
    );
    const rendered = this.render(vnet).properties.subnets.find((s: Json) => sameId(s.id, childId));
    return { status: idx >= 0 ? 200 : 201, body: rendered, headers };
  }

  private async deleteSubnet(req: ProviderRequest, vnet: StoredResource, childId: string): Promise<ArmResponse> {
    const subnets: Json[] = vnet.body.properties.subnets;
    const s = subnets.find((x) => sameId(x.id, childId));
    if (!s) return { status: 204 };
    this.refuseSubnetDelete(s);
    const { headers } = this.ctx.startOperation(
      req,
      vnet.body.location,
      'network',
      {
        kind: 'networkDelete',
        onSuccess: () => {
          vnet.body.properties.subnets = vnet.body.properties.subnets.filter((x: Json) => !sameId(x.id, childId));
          vnet.etag = ArmContext.networkEtag();
          vnet.inputKey = '';
        },
      },
      true,
    );
    return { status: 202, headers };
  }
}

function withoutState(s: Json): Json {
  const c = clone(s);
  delete c.properties.provisioningState;
  delete c.properties.ipConfigurations;
  delete c.etag;
  return c;
}

function invalidReference(ref: string, by: string): ArmError {
  return new ArmError(
    400,
    'InvalidResourceReference',
    `Resource ${ref} referenced by resource ${by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
  );
}

function macFor(id: string): string {
  let h = 0;
  for (const ch of id.toLowerCase()) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  const b = [0x00, 0x0d, 0x3a, (h >>> 16) & 255, (h >>> 8) & 255, h & 255];
  return b.map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join('-');
}
