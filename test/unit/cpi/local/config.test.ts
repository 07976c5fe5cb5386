import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLocalCpiConfig } from '../../../../cpi/local/config.js';
import { chrootPath } from '../../../../cpi/local/sftp-server.js';
import { toCpiError, LocalFault } from '../../../../cpi/local/error-mapper.js';
import { CpiError } from '../../../../cpi/cpi-error.js';
import { formatErrorChain, wrap } from '../../../../src/errors.js';

describe('local CPI config', () => {
  it('defaults ssh_port to 2222 and load_balancers to none', () => {
    assert.deepEqual(parseLocalCpiConfig({ root: '/var/director' }), {
      root: '/var/director',
      ssh_port: 2222,
      load_balancers: {},
    });
  });

  it('reads load balancers', () => {
    const cfg = parseLocalCpiConfig({
      root: '/r',
      ssh_port: 22,
      load_balancers: { 'cfcr-lb': { address: '127.0.0.1', ports: [{ frontend: 8443, backend: 8443 }] } },
    });
    assert.deepEqual(cfg.load_balancers['cfcr-lb'], {
      address: '127.0.0.1',
      ports: [{ frontend: 8443, backend: 8443 }],
    });
  });

  it('reports every problem at once, each with its path', () => {
    assert.throws(
      () =>
        parseLocalCpiConfig({
          root: 'relative',
          ssh_port: 70000,
          load_balancers: { api: { address: 'localhost', ports: [{ frontend: 1, backend: 'x' }] }, web: { ports: [] } },
        }),
      {
        message:
          "Validating local CPI config: 'root' must be an absolute path, found 'relative'; 'ssh_port' must be a port number (1-65535), found 70000; " +
          "'load_balancers.api.address' must be an IPv4 address, found 'localhost'; 'load_balancers.api.ports[0].backend' must be a port number (1-65535), found 'x'; " +
          "'load_balancers.web.ports' must be a non-empty list of {frontend, backend}",
      },
    );
  });
});

describe('SFTP chroot paths', () => {
  it('resolves relative and absolute paths inside the root and stops .. at it', () => {
    assert.deepEqual(chrootPath('/vm/root', '.'), { real: '/vm/root/', virtual: '/' });
    assert.deepEqual(chrootPath('/vm/root', 'a/b'), { real: '/vm/root/a/b', virtual: '/a/b' });
    assert.deepEqual(chrootPath('/vm/root', '/etc/passwd'), { real: '/vm/root/etc/passwd', virtual: '/etc/passwd' });
    assert.deepEqual(chrootPath('/vm/root', '../../etc/passwd'), {
      real: '/vm/root/etc/passwd',
      virtual: '/etc/passwd',
    });
    assert.deepEqual(chrootPath('/vm/root', 'a/../../..'), { real: '/vm/root/', virtual: '/' });
  });
});

describe('local CPI error mapper', () => {
  it('keeps the kind of its own faults and names the method', () => {
    const err = toCpiError('attach_disk', new LocalFault('NotFound', "Disk 'd1' not found", 'disk'));
    assert.ok(err instanceof CpiError);
    assert.equal(err.message, "CPI 'attach_disk' responded with NotFound error: Disk 'd1' not found");
    assert.deepEqual([err.kind, err.resource, err.okToRetry], ['NotFound', 'disk', false]);
    assert.equal(
      formatErrorChain(wrap("Attaching disk to 'web/0'", err)),
      "Attaching disk to 'web/0': CPI 'attach_disk' responded with NotFound error: Disk 'd1' not found",
    );
  });

  it('maps system errors: full disks, taken addresses, anything else', () => {
    const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
    assert.equal(toCpiError('create_disk', errno('ENOSPC', 'no space left on device')).kind, 'NoDiskSpace');
    const taken = toCpiError(
      'create_vm',
      new Error('VM host exited (code 1): listen EADDRINUSE: address already in use 127.0.0.5:2222'),
    );
    assert.deepEqual([taken.kind, taken.okToRetry], ['VmCreationFailed', false]);
    const flaky = toCpiError('create_vm', new Error('something odd'));
    assert.deepEqual([flaky.kind, flaky.okToRetry], ['VmCreationFailed', true]);
    assert.deepEqual(
      [
        toCpiError('delete_disk', errno('EBUSY', 'busy')).kind,
        toCpiError('delete_disk', errno('EMFILE', 'too many')).okToRetry,
      ],
      ['Unknown', true],
    );
  });
});
