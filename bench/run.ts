// `npm run bench`: every benchmark, each printing its figures and ratios against a baseline
// measured in the same run. Pass names to run only some: `npm run bench -- int`. The Azure bench
// (about 3 minutes against the ARM fake) runs only when named: `npm run bench -- azure`, as does
// the state bench (it starts a PostgreSQL): `npm run bench -- state`.
import { benchAzure } from './azure.js';
import { benchAzureRequests } from './azure-requests.js';
import { benchDeploy } from './deploy.js';
import { benchInt } from './int.js';
import { benchLocalVms } from './local-vms.js';
import { benchStateBackends } from './state-backends.js';

const benches: Record<string, () => Promise<string[]>> = {
  int: benchInt,
  'local-vms': benchLocalVms,
  deploy: benchDeploy,
  'azure-requests': benchAzureRequests,
};
const optIn: Record<string, () => Promise<string[]>> = { azure: benchAzure, state: benchStateBackends };
const only = process.argv.slice(2);
for (const [name, run] of Object.entries({ ...benches, ...optIn })) {
  if (only.length ? !only.includes(name) : name in optIn) continue;
  for (const line of await run()) console.log(line);
}
