// Run as its own process by generation.test.ts: reports whether @peculiar/x509 is loaded after
// generating variables that need no certificate, and after generating one.
import { createRequire } from 'node:module';
import { fromPlain } from '../../../../src/manifest/value.js';
import { MemoryVariableStore } from '../../../../src/manifest/variables/memory-variable-store.js';
import { StaticVariables } from '../../../../src/manifest/variables/static-variables.js';
import { evaluateTemplate } from '../../../../src/manifest/variables/template.js';

const cache = createRequire(import.meta.url).cache;
const loaded = () => Object.keys(cache).some((path) => path.includes('@peculiar/x509'));
const store = new MemoryVariableStore();
const report: Record<string, boolean> = { atStart: loaded() };
await evaluateTemplate(
  fromPlain({
    variables: [
      { name: 'p', type: 'password' },
      { name: 'u', type: 'user' },
    ],
    p: '((p))',
  }),
  { vars: new StaticVariables(), store },
);
report['afterPasswords'] = loaded();
const ca = { name: 'ca', type: 'certificate', options: { is_ca: true, common_name: 'ca' } };
await evaluateTemplate(fromPlain({ variables: [ca] }), {
  vars: new StaticVariables(),
  store,
  defaultCertificateKeyLength: 2048,
});
report['afterCertificate'] = loaded();
process.stdout.write(JSON.stringify(report));
