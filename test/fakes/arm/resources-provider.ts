import type { ArmContext, ArmResponse, ProviderRequest } from './arm-context.js';
import { ArmError, invalidParameter, resourceGroupNotFound } from './arm-error.js';
import type { Json, ResourceGroupRecord } from './arm-state.js';
import type { ComputeProvider } from './compute-provider.js';

/** api-versions accepted for resource groups (what @azure/arm-resources 7 sends). */
export const RESOURCES_API_VERSIONS = ['2025-04-01', '2024-11-01', '2024-03-01', '2022-09-01', '2021-04-01'];

/** Resource groups: create/update, get, head, list, delete (asynchronous, deleting everything inside). */
export class ResourcesProvider {
  private readonly ctx: ArmContext;
  private readonly compute: ComputeProvider;

  constructor(ctx: ArmContext, compute: ComputeProvider) {
    this.ctx = ctx;
    this.compute = compute;
  }

  render(g: ResourceGroupRecord): Json {
    return {
      id: g.id,
      name: g.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: g.location,
      ...(g.tags ? { tags: g.tags } : {}),
      properties: { provisioningState: g.provisioningState },
    };
  }

  /** `/subscriptions/{s}/resourcegroups[/{name}]`. */
  async handle(method: string, name: string | undefined, req: ProviderRequest): Promise<ArmResponse> {
    const state = this.ctx.state;
    if (name === undefined) {
      if (method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      return { status: 200, body: { value: state.listGroups().map((g) => this.render(g)) } };
    }
    const g = state.group(name);
    switch (method) {
      case 'GET':
        if (!g) throw resourceGroupNotFound(name);
        return { status: 200, body: this.render(g) };
      case 'HEAD':
        return { status: g ? 204 : 404 };
      case 'PUT': {
        const body = req.body ?? {};
        if (!body.location && !g)
          throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
        if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith('.')) {
          throw invalidParameter(`Resource group name '${name}' is invalid.`);
        }
        if (g?.provisioningState === 'Deleting') {
          throw new ArmError(
            409,
            'ResourceGroupBeingDeleted',
            `The resource group '${name}' is in deprovisioning state and cannot perform this operation.`,
          );
        }
        if (
          g &&
          body.location &&
          g.location.toLowerCase() !== String(body.location).toLowerCase().replace(/\s+/g, '')
        ) {
          throw new ArmError(
            409,
            'InvalidResourceGroupLocation',
            `Invalid resource group location '${body.location}'. The Resource group already exists in location '${g.location}'.`,
          );
        }
        const rec: ResourceGroupRecord = g ?? {
          id: `/subscriptions/${state.subscriptionId}/resourceGroups/${name}`,
          name,
          location: String(body.location).toLowerCase().replace(/\s+/g, ''),
          provisioningState: 'Succeeded',
        };
        if (body.tags !== undefined) rec.tags = body.tags;
        state.putGroup(rec);
        return { status: g ? 200 : 201, body: this.render(rec) };
      }
      case 'PATCH': {
        if (!g) throw resourceGroupNotFound(name);
        if (req.body?.tags !== undefined) g.tags = req.body.tags;
        return { status: 200, body: this.render(g) };
      }
      case 'DELETE': {
        if (!g) throw resourceGroupNotFound(name);
        g.provisioningState = 'Deleting';
        const vms = state.list('Microsoft.Compute/virtualMachines', g.name);
        const { headers } = this.ctx.startOperation(
          req,
          g.location,
          'resources',
          {
            work: async () => {
              for (const vm of vms) await this.ctx.hooks.onVmDeleted?.(this.compute.hookInfo(vm));
            },
            onSuccess: () => {
              for (const vm of vms) this.compute.finishVmDelete(vm);
              for (const r of state.inGroup(g.name)) state.delete(r.id);
              state.deleteGroup(g.name);
            },
            onFailure: () => (g.provisioningState = 'Succeeded'),
          },
          true,
        );
        return { status: 202, headers };
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    }
  }
}
