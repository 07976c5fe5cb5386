import { DirectorError } from '../../src/errors.js';

/** How the CPI authenticates to Azure. */
export type AzureCredentialConfig =
  | {
      readonly kind: 'service_principal';
      readonly tenantId: string;
      readonly clientId: string;
      readonly clientSecret: string;
    }
  | { readonly kind: 'managed_identity'; readonly clientId?: string }
  | { readonly kind: 'default' };

/** The Azure CPI's configuration: the `cpi.properties` of env.yml with ops-files/azure.yml. */
export interface AzureCpiConfig {
  /** AzureCloud, AzureChinaCloud, AzureUSGovernment (or AzureStack with explicit endpoints). */
  readonly environment: string;
  readonly location: string;
  readonly subscriptionId: string;
  readonly resourceGroupName: string;
  /** Where heavy stemcells are uploaded (container `stemcell`). */
  readonly storageAccountName: string | undefined;
  /** The NSG a NIC gets when neither its network nor its vm_extensions name one. */
  readonly defaultSecurityGroup: string | undefined;
  /** The admin user Azure provisions (`vcap`). */
  readonly sshUser: string;
  readonly credential: AzureCredentialConfig;
  /** ARM endpoint, e.g. https://management.azure.com (tests: the fake's). */
  readonly resourceManagerEndpoint: string;
  /** Entra ID authority host, e.g. https://login.microsoftonline.com. */
  readonly authorityHost: string;
  /** The token scope for ARM (`<audience>/.default`). */
  readonly credentialScope: string;
  /** Extra CA (PEM) to trust for ARM and the authority (AzureStack, tests). */
  readonly caCert: string | undefined;
}

interface CloudEndpoints {
  readonly resourceManager: string;
  readonly authority: string;
  readonly audience: string;
}

const CLOUDS: Readonly<Record<string, CloudEndpoints>> = {
  AzureCloud: {
    resourceManager: 'https://management.azure.com',
    authority: 'https://login.microsoftonline.com',
    audience: 'https://management.azure.com/',
  },
  AzureChinaCloud: {
    resourceManager: 'https://management.chinacloudapi.cn',
    authority: 'https://login.chinacloudapi.cn',
    audience: 'https://management.chinacloudapi.cn/',
  },
  AzureUSGovernment: {
    resourceManager: 'https://management.usgovcloudapi.net',
    authority: 'https://login.microsoftonline.us',
    audience: 'https://management.usgovcloudapi.net/',
  },
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/**
 * Validates the raw `cpi.properties` of an Azure environment, reporting every problem at once,
 * each naming its property. Secrets (client_secret) are never echoed.
 */
export function parseAzureCpiConfig(raw: unknown): AzureCpiConfig {
  if (!isPlainObject(raw)) throw new DirectorError(`Validating Azure CPI config: expected a map, found ${show(raw)}`);
  const problems: string[] = [];
  const str = (key: string, required: boolean, secret = false): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) {
      if (required) problems.push(`'${key}' is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      problems.push(`'${key}' must be a non-empty string${secret ? '' : `, found ${show(v)}`}`);
      return undefined;
    }
    return v;
  };
  const environment = str('environment', false) ?? 'AzureCloud';
  const cloud = CLOUDS[environment];
  const endpoint = str('resource_manager_endpoint', cloud === undefined);
  const authority = str('authority_host', cloud === undefined);
  const audience = str('resource_manager_audience', false);
  if (cloud === undefined && environment !== 'AzureStack') {
    problems.push(
      `'environment' must be one of AzureCloud, AzureChinaCloud, AzureUSGovernment, AzureStack, found ${show(environment)}`,
    );
  }
  const location = str('location', true);
  const subscriptionId = str('subscription_id', true);
  const resourceGroupName = str('resource_group_name', true);
  const storageAccountName = str('storage_account_name', false);
  if (storageAccountName !== undefined && !/^[a-z0-9]{3,24}$/.test(storageAccountName)) {
    problems.push(
      `'storage_account_name' must be 3-24 lower-case letters and digits, found ${show(storageAccountName)}`,
    );
  }
  const defaultSecurityGroup = str('default_security_group', false);
  const sshUser = str('ssh_user', false) ?? 'vcap';
  const caCert = str('ca_cert', false);
  const tenantId = str('tenant_id', false);
  const clientId = str('client_id', false);
  const clientSecret = str('client_secret', false, true);
  const mi = raw.managed_identity;
  let credential: AzureCredentialConfig = { kind: 'default' };
  if (clientSecret !== undefined) {
    if (tenantId === undefined) problems.push(`'tenant_id' is required with 'client_secret'`);
    if (clientId === undefined) problems.push(`'client_id' is required with 'client_secret'`);
    credential = { kind: 'service_principal', tenantId: tenantId ?? '', clientId: clientId ?? '', clientSecret };
  } else if (mi !== undefined && mi !== null && mi !== false) {
    if (mi === true) credential = { kind: 'managed_identity' };
    else if (isPlainObject(mi) && (mi.client_id === undefined || typeof mi.client_id === 'string')) {
      credential =
        mi.client_id === undefined
          ? { kind: 'managed_identity' }
          : { kind: 'managed_identity', clientId: mi.client_id };
    } else problems.push(`'managed_identity' must be true or {client_id: string}, found ${show(mi)}`);
  }
  if (problems.length > 0) throw new DirectorError(`Validating Azure CPI config: ${problems.join('; ')}`);
  const resourceManagerEndpoint = (endpoint ?? cloud?.resourceManager ?? '').replace(/\/+$/, '');
  const aud = audience ?? cloud?.audience ?? `${resourceManagerEndpoint}/`;
  return {
    environment,
    location: location as string,
    subscriptionId: subscriptionId as string,
    resourceGroupName: resourceGroupName as string,
    storageAccountName,
    defaultSecurityGroup,
    sshUser,
    credential,
    resourceManagerEndpoint,
    authorityHost: (authority ?? cloud?.authority ?? '').replace(/\/+$/, ''),
    credentialScope: `${aud.replace(/\/+$/, '')}/.default`,
    caCert,
  };
}
