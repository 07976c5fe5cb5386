import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { formatErrorChain } from '../../../../src/errors.js';
import { ipAddressBytes } from '../../../../src/manifest/variables/certificate-generator.js';
import { MemoryVariableStore } from '../../../../src/manifest/variables/memory-variable-store.js';
import { PASSWORD_ALPHABET } from '../../../../src/manifest/variables/password-generator.js';
import { StaticVariables } from '../../../../src/manifest/variables/static-variables.js';
import { evaluateTemplate } from '../../../../src/manifest/variables/template.js';
import { fromPlain, isMap } from '../../../../src/manifest/value.js';
import type { YamlMap, YamlValue } from '../../../../src/manifest/value.js';
import { parseYaml } from '../../../../src/manifest/yaml.js';
import { CFCR_VARIABLES } from './cfcr-variables.js';

/** A store that records every put (a hand-written recording fake). */
class RecordingStore extends MemoryVariableStore {
  readonly puts: string[] = [];
  override put(name: string, value: YamlValue): Promise<void> {
    this.puts.push(name);
    return super.put(name, value);
  }
}

const NOW = new Date('2026-03-04T05:06:07.890Z');
const none = new StaticVariables();

function field(v: YamlValue | undefined, key: string): string {
  assert.ok(isMap(v), 'expected a map');
  const s = v.get(key);
  assert.equal(typeof s, 'string', `expected '${key}' to be a string`);
  return s as string;
}

async function generate(
  defs: unknown[],
  vars: StaticVariables = none,
  store = new RecordingStore(),
): Promise<RecordingStore> {
  await evaluateTemplate(fromPlain({ variables: defs }), { vars, store, now: () => NOW });
  return store;
}

async function failure(defs: unknown[], vars: StaticVariables = none): Promise<string> {
  try {
    await generate(defs, vars);
  } catch (err) {
    return formatErrorChain(err);
  }
  assert.fail('expected generation to fail');
}

function openssl(args: string[], input: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8' });
}

describe("cfcr.yml's variables", () => {
  const store = new RecordingStore();
  let out: YamlMap;
  const manifest = `${CFCR_VARIABLES}
jobs:
  apiserver:
    service-account-public-key: ((service-account-key.public_key))
    tls:
      kubelet-client: ((tls-kubelet-client))
      kubernetes:
        ca: ((tls-kubernetes.ca))
        certificate: ((tls-kubernetes.certificate))((tls-kubernetes.ca))
        private_key: ((tls-kubernetes.private_key))
  etcd:
    ca: ((etcd_ca.certificate))
    root-password: ((etcd_user_root_password))
`;

  before(async () => {
    out = (await evaluateTemplate(parseYaml(manifest, 'cfcr.yml'), {
      vars: none,
      store,
      now: () => NOW,
      expectAllKeys: true,
    })) as YamlMap;
  });

  it('generates every declared variable once, stores it, and empties the section', async () => {
    const declared = [...CFCR_VARIABLES.matchAll(/^- name: (\S+)$/gm)].map((m) => m[1]!);
    assert.equal(declared.length, 22);
    assert.deepEqual([...store.puts].sort(), [...declared].sort());
    assert.deepEqual(out.get('variables'), []);
  });

  it('puts certificate and CA in one string where cfcr.yml writes ((x.certificate))((x.ca))', async () => {
    const tls = await store.get('tls-kubernetes');
    const k8s = ((out.get('jobs') as YamlMap).get('apiserver') as YamlMap).get('tls') as YamlMap;
    assert.equal((k8s.get('kubernetes') as YamlMap).get('certificate'), field(tls, 'certificate') + field(tls, 'ca'));
    assert.deepEqual(
      (k8s.get('kubelet-client') as YamlMap).get('ca'),
      field(await store.get('tls-kubelet-client'), 'ca'),
    );
  });

  it('signs each leaf with the CA its options name; subjects, SANs and usages as config-server writes them', async () => {
    const kuboCa = new X509Certificate(field(await store.get('kubo_ca'), 'certificate'));
    assert.equal(kuboCa.subject, 'C=US\nO=Cloud Foundry\nCN=ca');
    assert.equal(kuboCa.issuer, kuboCa.subject);
    assert.equal(kuboCa.ca, true);
    assert.ok(kuboCa.verify(kuboCa.publicKey));

    const v = await store.get('tls-kubernetes');
    const cert = new X509Certificate(field(v, 'certificate'));
    assert.equal(field(v, 'ca'), field(await store.get('kubo_ca'), 'certificate'));
    assert.equal(cert.subject, 'C=US\nO=system:masters\nCN=master.cfcr.internal');
    assert.equal(cert.issuer, kuboCa.subject);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(kuboCa.publicKey));
    assert.ok(!cert.verify(new X509Certificate(field(await store.get('etcd_ca'), 'certificate')).publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(field(v, 'private_key'))));
    assert.equal(
      cert.subjectAltName,
      'DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, DNS:master.cfcr.internal, IP Address:10.100.200.1',
    );
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // no extended_key_usage: server_auth
    assert.equal(new Date(cert.validFrom).toISOString(), '2026-03-04T05:06:07.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '2027-03-04T05:06:07.000Z');
    assert.equal(createPrivateKey(field(v, 'private_key')).asymmetricKeyDetails?.modulusLength, 3072);
    assert.match(field(v, 'private_key'), /^-----BEGIN RSA PRIVATE KEY-----\n/);

    const etcd = new X509Certificate(field(await store.get('tls-etcd-v0-29-0'), 'certificate'));
    assert.equal(etcd.subject, 'C=US\nO=Cloud Foundry\nCN=*.etcd.cfcr.internal');
    assert.equal(etcd.issuer, 'C=US\nO=Cloud Foundry\nCN=etcd.ca');
    assert.deepEqual(etcd.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
    assert.equal(etcd.subjectAltName, undefined);
  });

  it("honours CredHub's key_usage (tls-kube-controller-manager) and writes Go's extensions", async () => {
    const text = openssl(
      ['x509', '-noout', '-text'],
      field(await store.get('tls-kube-controller-manager'), 'certificate'),
    );
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:localhost, IP Address:127.0.0.1\n/);
    const ca = openssl(['x509', '-noout', '-text'], field(await store.get('kubo_ca'), 'certificate'));
    assert.match(ca, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
    assert.match(ca, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
  });

  it("derives key ids as config-server does: SKI = SHA-1 of the modulus, AKI = the signer's SKI", async () => {
    const ca = field(await store.get('kubo_ca'), 'certificate');
    const leaf = field(await store.get('tls-kubelet'), 'certificate');
    const modulus = (pem: string) =>
      Buffer.from(createPublicKey(pem).export({ format: 'jwk' }).n as string, 'base64url');
    const hexColons = (b: Buffer) => b.toString('hex').toUpperCase().match(/../g)!.join(':');
    const caSki = hexColons(createHash('sha1').update(modulus(ca)).digest());
    const leafText = openssl(['x509', '-noout', '-text'], leaf);
    assert.match(
      leafText,
      new RegExp(`Subject Key Identifier: \\n\\s+${hexColons(createHash('sha1').update(modulus(leaf)).digest())}\\n`),
    );
    assert.match(leafText, new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${caSki}\\n`));
    assert.match(openssl(['x509', '-noout', '-serial'], leaf), /^serial=[0-9A-F]{1,32}\n$/);
  });

  it('rsa: a 2048-bit PKCS#1 private key and its PKIX public key', async () => {
    const v = await store.get('service-account-key');
    assert.match(
      field(v, 'private_key'),
      /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n$/,
    );
    assert.match(field(v, 'public_key'), /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const priv = createPrivateKey(field(v, 'private_key'));
    assert.equal(priv.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(createPublicKey(priv).export({ type: 'spki', format: 'pem' }), field(v, 'public_key'));
  });

  it('passwords: 20 characters of [a-z0-9]', async () => {
    for (const name of ['kubo-admin-password', 'etcd_user_root_password']) {
      const p = await store.get(name);
      assert.equal(typeof p, 'string');
      assert.match(p as string, /^[a-z0-9]{20}$/);
    }
    assert.equal(
      ((out.get('jobs') as YamlMap).get('etcd') as YamlMap).get('root-password'),
      await store.get('etcd_user_root_password'),
    );
  });

  it('never regenerates: a second evaluation with the same store generates nothing and prints the same values', async () => {
    const before = store.puts.length;
    const again = (await evaluateTemplate(parseYaml(manifest, 'cfcr.yml'), {
      vars: none,
      store,
      expectAllKeys: true,
    })) as YamlMap;
    assert.equal(store.puts.length, before);
    assert.deepEqual(again.get('jobs'), out.get('jobs'));
  });
});

describe('generation', () => {
  it('stores new values in definition order, whichever key is made first, and keeps the ones made before a failure', async () => {
    const defs = [
      { name: 'leaf', type: 'certificate', options: { key_length: 2048, ca: 'late_ca', common_name: 'leaf' } },
      { name: 'pw', type: 'password' },
      { name: 'ssh', type: 'ssh' },
      { name: 'user', type: 'user' },
      { name: 'late_ca', type: 'certificate', options: { key_length: 2048, is_ca: true, common_name: 'late' } },
    ];
    // The password and user come out first, the CA before its leaf: the store sees none of that.
    assert.deepEqual((await generate(defs)).puts, ['leaf', 'pw', 'ssh', 'user', 'late_ca']);
    const stored = new RecordingStore([['pw', 'kept']]);
    await assert.rejects(generate([...defs, { name: 'broken', type: 'bogus' }], none, stored));
    assert.deepEqual(stored.puts, ['leaf', 'ssh', 'user', 'late_ca']);
    assert.equal(await stored.get('pw'), 'kept');
  });

  it('generates a CA declared after the certificate that needs it, first', async () => {
    const store = await generate([
      {
        name: 'leaf',
        type: 'certificate',
        options: {
          key_length: 2048,
          ca: 'late_ca',
          common_name: 'leaf',
          alternative_names: ['::1', 'a.example', '10.0.0.1'],
        },
      },
      {
        name: 'late_ca',
        type: 'certificate',
        options: { key_length: 2048, is_ca: true, common_name: 'late', organization: 'Org' },
      },
    ]);
    const ca = new X509Certificate(field(await store.get('late_ca'), 'certificate'));
    const leaf = new X509Certificate(field(await store.get('leaf'), 'certificate'));
    assert.equal(ca.subject, 'C=US\nO=Org\nCN=late');
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(leaf.subjectAltName, 'DNS:a.example, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.1');
    assert.equal(store.puts.filter((n) => n === 'late_ca').length, 1);
  });

  it('signs an intermediate CA with its CA and gives the root as its ca', async () => {
    const store = await generate([
      { name: 'root', type: 'certificate', options: { key_length: 2048, is_ca: true, common_name: 'root' } },
      {
        name: 'mid',
        type: 'certificate',
        options: { key_length: 2048, is_ca: true, ca: 'root', common_name: 'mid', duration: 30 },
      },
      { name: 'leaf', type: 'certificate', options: { ca: 'mid', common_name: 'leaf', key_length: 2048 } },
    ]);
    const root = new X509Certificate(field(await store.get('root'), 'certificate'));
    const mid = new X509Certificate(field(await store.get('mid'), 'certificate'));
    const leaf = new X509Certificate(field(await store.get('leaf'), 'certificate'));
    assert.equal(field(await store.get('mid'), 'ca'), field(await store.get('root'), 'certificate'));
    assert.equal(field(await store.get('leaf'), 'ca'), field(await store.get('mid'), 'certificate'));
    assert.ok(mid.ca && mid.verify(root.publicKey) && leaf.verify(mid.publicKey));
    assert.equal(mid.issuer, root.subject);
    assert.equal(new Date(mid.validTo).getTime() - new Date(mid.validFrom).getTime(), 30 * 86_400_000);
    assert.equal(
      createPrivateKey(field(await store.get('leaf'), 'private_key')).asymmetricKeyDetails?.modulusLength,
      2048,
    );
  });

  it('signs with a CA given on the command line (-l), which is then not generated', async () => {
    const first = await generate([
      { name: 'ca', type: 'certificate', options: { key_length: 2048, is_ca: true, common_name: 'given' } },
    ]);
    const given = new StaticVariables([['ca', (await first.get('ca'))!]]);
    const store = await generate(
      [
        { name: 'ca', type: 'certificate', options: { key_length: 2048, is_ca: true, common_name: 'ignored' } },
        { name: 'leaf', type: 'certificate', options: { key_length: 2048, ca: 'ca', common_name: 'leaf' } },
      ],
      given,
    );
    assert.deepEqual(store.puts, ['leaf']);
    const leaf = new X509Certificate(field(await store.get('leaf'), 'certificate'));
    assert.equal(leaf.issuer, 'C=US\nO=Cloud Foundry\nCN=given');
  });

  it('names the variable in every generation error, and never includes key material', async () => {
    const cases: [unknown[], string][] = [
      [[{ name: 'x', type: 'bogus' }], "Generating variable 'x': Unsupported value type: bogus"],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, common_name: 'c', bogus: 1 } }],
        "Generating variable 'c': Failed to generate certificate, parameters are invalid: Unsupported parameter 'bogus'",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, common_name: 'c' } }],
        "Generating variable 'c': Missing required CA name",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, is_ca: 'yes please' } }],
        "Generating variable 'c': Failed to generate certificate, parameters are invalid: Expected parameter 'is_ca' to be a boolean, found 'string'",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { is_ca: true, key_length: 1024 } }],
        "Generating variable 'c': Unsupported key length: 1024 (expected one of 2048, 3072, 4096)",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, ca: 'x', extended_key_usage: ['any'] } }],
        "Generating variable 'c': Unsupported extended key usage value: any",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, ca: 'x', key_usage: ['sign_all'] } }],
        "Generating variable 'c': Unsupported key usage value: sign_all",
      ],
      [
        [{ name: 'c', type: 'certificate', options: { key_length: 2048, ca: 'nowhere' } }],
        "Generating variable 'c': Loading certificates: Expected to find variable 'nowhere' with a certificate",
      ],
      [
        [{ name: 'p', type: 'password', options: { length: -1 } }],
        "Generating variable 'p': Failed to generate password, 'length' param cannot be negative",
      ],
      [
        [{ name: 'p', type: 'password', options: ['length'] }],
        "Generating variable 'p': Failed to generate password, parameters are invalid: Expected input to be deserializable: expected a map of parameters, found '[]interface {}'",
      ],
    ];
    for (const [defs, message] of cases) {
      assert.equal(await failure(defs), `Getting all variables from variable definitions sections: ${message}`);
    }
    const badKey = new StaticVariables([
      [
        'ca',
        fromPlain({
          certificate: 'nope',
          private_key: '-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END RSA PRIVATE KEY-----\n',
        }),
      ],
    ]);
    const msg = await failure([{ name: 'c', type: 'certificate', options: { key_length: 2048, ca: 'ca' } }], badKey);
    assert.equal(
      msg,
      "Getting all variables from variable definitions sections: Generating variable 'c': Loading certificates: Certificate did not contain PEM formatted block",
    );
    const real = await generate([{ name: 'ca', type: 'certificate', options: { key_length: 2048, is_ca: true } }]);
    const keyless = new StaticVariables([
      [
        'ca',
        fromPlain({
          certificate: field(await real.get('ca'), 'certificate'),
          private_key: '-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END RSA PRIVATE KEY-----\n',
        }),
      ],
    ]);
    const msg2 = await failure([{ name: 'c', type: 'certificate', options: { key_length: 2048, ca: 'ca' } }], keyless);
    assert.equal(
      msg2,
      "Getting all variables from variable definitions sections: Generating variable 'c': Loading certificates: Parsing private key: the PEM block is not a valid private key",
    );
    assert.ok(!msg2.includes('c2VjcmV0'));
  });

  it('refuses a cycle of certificate authorities instead of waiting forever', async () => {
    const msg = await failure([
      { name: 'a', type: 'certificate', options: { key_length: 2048, is_ca: true, ca: 'b' } },
      { name: 'b', type: 'certificate', options: { key_length: 2048, is_ca: true, ca: 'a' } },
    ]);
    assert.match(msg, /Detected a cycle of certificate authorities: (a -> b -> a|b -> a -> b)$/);
    assert.match(
      await failure([{ name: 'a', type: 'certificate', options: { key_length: 2048, is_ca: true, ca: 'a' } }]),
      /Detected a cycle of certificate authorities: a -> a$/,
    );
  });

  it('defaultCertificateKeyLength: the key size of certificates that give no key_length', async () => {
    const store = new RecordingStore();
    const defs = [
      { name: 'ca', type: 'certificate', options: { is_ca: true, common_name: 'ca' } },
      { name: 'leaf', type: 'certificate', options: { ca: 'ca', common_name: 'leaf' } },
      { name: 'big', type: 'certificate', options: { ca: 'ca', common_name: 'big', key_length: 3072 } },
      { name: 'k', type: 'rsa' },
    ];
    await evaluateTemplate(fromPlain({ variables: defs }), {
      vars: none,
      store,
      now: () => NOW,
      defaultCertificateKeyLength: 2048,
    });
    const bits = async (name: string) =>
      createPrivateKey(field(await store.get(name), 'private_key')).asymmetricKeyDetails?.modulusLength;
    assert.equal(await bits('ca'), 2048);
    assert.equal(await bits('leaf'), 2048);
    assert.equal(await bits('big'), 3072);
    assert.equal(await bits('k'), 2048);
    assert.ok(
      new X509Certificate(field(await store.get('big'), 'certificate')).verify(
        new X509Certificate(field(await store.get('ca'), 'certificate')).publicKey,
      ),
    );
    try {
      await evaluateTemplate(fromPlain({ variables: [{ name: 'p', type: 'password' }] }), {
        vars: none,
        store: new RecordingStore(),
        defaultCertificateKeyLength: 1024,
      });
      assert.fail('expected an invalid default key length to be refused');
    } catch (err) {
      assert.equal(
        formatErrorChain(err),
        'Unsupported default certificate key length: 1024 (expected one of 2048, 3072, 4096)',
      );
    }
  });

  it('loads the X.509 library only when a certificate is generated', () => {
    const here = fileURLToPath(import.meta.url);
    const probe = join(here, '..', `x509-load-probe${extname(here)}`);
    const out = execFileSync(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), probe], {
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), { atStart: false, afterPasswords: false, afterCertificate: true });
  });

  it('password length, user (CredHub), and generation without a CA when is_ca', async () => {
    const store = await generate([
      { name: 'p', type: 'password', options: { length: 64 } },
      { name: 'u', type: 'user', options: { username: 'admin' } },
      { name: 'anon', type: 'user' },
    ]);
    const p = (await store.get('p')) as string;
    assert.equal(p.length, 64);
    assert.ok([...p].every((c) => PASSWORD_ALPHABET.includes(c)));
    assert.equal(field(await store.get('u'), 'username'), 'admin');
    assert.match(field(await store.get('u'), 'password'), /^[a-z0-9]{20}$/);
    assert.match(field(await store.get('anon'), 'username'), /^[a-z0-9]{20}$/);
  });
});

describe('ssh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'director-ssh-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an RSA key with an authorized_keys line and the MD5 fingerprint ssh-keygen prints', async () => {
    const store = await generate([{ name: 'k', type: 'ssh', options: { ignored: true } }]);
    const v = await store.get('k');
    assert.match(field(v, 'public_key'), /^ssh-rsa AAAA[A-Za-z0-9+/=]+\n$/);
    assert.match(field(v, 'private_key'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(field(v, 'public_key_fingerprint'), /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    writeFileSync(join(dir, 'k.pub'), field(v, 'public_key'));
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'k.pub')], { encoding: 'utf8' });
    assert.equal(printed.split(' ')[0], '2048');
    assert.equal(printed.split(' ')[1], `MD5:${field(v, 'public_key_fingerprint')}`);
    const parsed = ssh2.utils.parseKey(field(v, 'private_key'));
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed));
    const blob = (parsed as ssh2.ParsedKey).getPublicSSH();
    assert.equal(field(v, 'public_key'), `ssh-rsa ${blob.toString('base64')}\n`);
  });
});

describe('ipAddressBytes (Go net.ParseIP as x509 writes it)', () => {
  it('IPv4 as 4 bytes, IPv6 as 16, v4-mapped IPv6 as 4, anything else is a DNS name', () => {
    assert.deepEqual(ipAddressBytes('10.100.200.1'), Buffer.from([10, 100, 200, 1]));
    assert.deepEqual(ipAddressBytes('::1'), Buffer.from([...Array<number>(15).fill(0), 1]));
    assert.deepEqual(ipAddressBytes('2001:db8::ff00:42:8329'), Buffer.from('20010db8000000000000ff0000428329', 'hex'));
    assert.deepEqual(ipAddressBytes('::ffff:192.0.2.1'), Buffer.from([192, 0, 2, 1]));
    assert.deepEqual(ipAddressBytes('64:ff9b::192.0.2.1'), Buffer.from('0064ff9b0000000000000000c0000201', 'hex'));
    for (const dns of ['kubernetes', '*.example.com', '10.0.0', 'fe80::1%eth0', '1.2.3.4.5'])
      assert.equal(ipAddressBytes(dns), undefined, dns);
  });
});
