import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobSpec } from '../../../src/release/job-spec.js';
import { formatErrorChain } from '../../../src/errors.js';
import { effectiveProperties, renderJob, type RenderContext } from '../../../src/plan/templates.js';

const spec = parseJobSpec(
  {
    name: 'etcd',
    templates: { 'etcd.yml.ejs': 'config/etcd.yml', 'ctl.ejs': 'bin/ctl' },
    packages: ['etcd'],
    properties: { 'etcd.name': {}, 'tls.ca': { description: 'the CA' }, undeclared_default: null, port_override: {} },
    consumes: [
      { name: 'etcd', type: 'etcd' },
      { name: 'other', type: 'x', optional: true },
    ],
    provides: [{ name: 'etcd', type: 'etcd', properties: ['etcd.port'] }],
  },
  'jobs/etcd/spec.yml',
);

const ctx: RenderContext = {
  spec: {
    deployment: 'd',
    name: 'master',
    id: 'u0',
    index: 0,
    az: 'z1',
    bootstrap: true,
    address: '10.0.0.20',
    ip: '10.0.0.20',
    networks: {},
    job: { name: 'etcd' },
    release: { name: 'kubo', version: '1' },
  },
  properties: { etcd: { name: 'node' }, notdeclared: 1 },
  links: {
    etcd: {
      name: 'etcd',
      type: 'etcd',
      group: 'master',
      deployment: 'd',
      address: null,
      properties: { etcd: { port: 2379 } },
      instances: [
        { name: 'master', id: 'u0', index: 0, az: 'z1', address: '10.0.0.20', bootstrap: true },
        { name: 'master', id: 'u1', index: 1, az: 'z2', address: '10.0.0.21', bootstrap: false },
      ],
    },
    other: null,
  },
};

test('p() reads manifest values and spec defaults; if_p and links work; spec is visible', () => {
  const out = renderJob(
    spec,
    {
      'etcd.yml.ejs': [
        'name: <%= p("etcd.name") %>-<%= spec.index %>',
        'port: <%= link("etcd").p("etcd.port") %>',
        'ca: <%= p("tls.ca", "none") %>',
        '<% if_p("tls.ca", (ca) => { %>has-ca<% }) %>',
        'peers: <%= link("etcd").instances.map((i) => `${i.address}:${link("etcd").p("etcd.port")}`).join(",") %>',
        '<% if_link("other", () => { %>other<% }) %>bootstrap=<%= spec.bootstrap %>',
      ].join('\n'),
      'ctl.ejs': '#!/bin/sh\necho <%= spec.address %>',
    },
    ctx,
  );
  assert.equal(
    out['config/etcd.yml'],
    'name: node-0\nport: 2379\nca: none\n\npeers: 10.0.0.20:2379,10.0.0.21:2379\nbootstrap=true',
  );
  assert.equal(out['bin/ctl'], '#!/bin/sh\necho 10.0.0.20');
});

test('a missing property names the template, job, instance and property', () => {
  assert.throws(
    () => renderJob(spec, { 'etcd.yml.ejs': '<%= p("tls.ca") %>', 'ctl.ejs': '' }, ctx),
    (e: Error) => {
      assert.equal(e.message, "Rendering template 'config/etcd.yml' of job 'etcd' for instance 'master/0'");
      assert.equal((e.cause as Error).message, "line 1: Can't find property '[\"tls.ca\"]'");
      return true;
    },
  );
  assert.throws(
    () => renderJob(spec, { 'etcd.yml.ejs': '<%= p("notdeclared") %>', 'ctl.ejs': '' }, ctx),
    (e: Error) => /Can't find property '\["notdeclared"\]'/.test(formatErrorChain(e)),
  );
});

test('only declared properties are visible, with defaults filled in', () => {
  assert.deepEqual(effectiveProperties(spec, ctx.properties), { etcd: { name: 'node' } });
});
