/**
 * `-c caBundle=FILE`: the PEM file ships with every authorizer and AUTHZ_CA_BUNDLE names it in
 * the function. The hook's copy command is run here for real; the asset itself is checked by
 * bin/check-assets.ts after scripts/test-infra.sh's real synth.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { configFromContext } from '../bin/context';
import { CA_BUNDLE_FILE_NAME, CA_BUNDLE_PATH, caBundleHook } from '../lib/authorizer-function';
import { loadRouteTable } from '../lib/route-table';
import { resources, synth, synthWithoutIssuer } from './helpers';

const dir = mkdtempSync(path.join(tmpdir(), 'ca-bundle-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real self-signed CA certificate (openssl), in a directory whose name needs quoting. */
const awkward = path.join(dir, "private CA's dir");
execFileSync('mkdir', ['-p', awkward]);
const caFile = path.join(awkward, 'hydra-ca.pem');
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=test private CA',
    '-keyout', path.join(dir, 'ca.key'), '-out', caFile],
  { stdio: 'ignore' },
);

const rustFunctions = (t: ReturnType<typeof synth>['template']) =>
  Object.values(resources(t, 'AWS::Lambda::Function')).filter((r) => r.Properties.Runtime === 'provided.al2023');

describe('caBundle context', () => {
  const TABLE = loadRouteTable();
  const config = (caBundle: string) =>
    configFromContext((k) => (k === 'caBundle' ? caBundle : k === 'issuer' ? 'https://idp.example.com' : undefined), {
      workspaceRoot: '/ws',
      routeTable: TABLE,
    });

  it('resolves the file to an absolute path', () => {
    const rel = path.relative(process.cwd(), caFile);
    assert.equal(config(rel).authorizers.caBundle, caFile);
  });

  it('refuses a missing file or one without a PEM certificate, naming the key', () => {
    assert.throws(() => config(path.join(dir, 'nope.pem')), /context caBundle ".*nope\.pem": cannot read it \(ENOENT\)/);
    const key = path.join(dir, 'ca.key');
    assert.throws(() => config(key), /context caBundle ".*ca\.key": no PEM certificate/);
    const empty = path.join(dir, 'empty.pem');
    writeFileSync(empty, '');
    assert.throws(() => config(empty), /no PEM certificate/);
  });
});

describe('the CA bundle in the stack', () => {
  for (const [mode, run] of [
    ['external issuer', synth],
    ['own user pool', synthWithoutIssuer],
  ] as const) {
    it(`${mode}: every Rust authorizer gets AUTHZ_CA_BUNDLE=${CA_BUNDLE_PATH}; the demo backend does not`, () => {
      const { template } = run({ caBundle: caFile });
      const rust = rustFunctions(template);
      assert.equal(rust.length, 3);
      for (const r of rust) assert.equal(r.Properties.Environment.Variables.AUTHZ_CA_BUNDLE, CA_BUNDLE_PATH, r.Properties.FunctionName);
      const others = Object.values(resources(template, 'AWS::Lambda::Function')).filter((r) => r.Properties.Runtime !== 'provided.al2023');
      assert.ok(others.length > 0);
      for (const r of others) assert.equal(r.Properties.Environment?.Variables?.AUTHZ_CA_BUNDLE, undefined);
    });
  }

  it('without caBundle no function names one', () => {
    for (const r of rustFunctions(synth().template)) assert.equal(r.Properties.Environment.Variables.AUTHZ_CA_BUNDLE, undefined);
  });

  it('authzEnvironment cannot set AUTHZ_CA_BUNDLE (it would point at nothing in the asset)', () => {
    assert.throws(() => synth({ authzEnvironment: { AUTHZ_CA_BUNDLE: '/etc/ssl/ca.pem' } }), /extraEnvironment: AUTHZ_CA_BUNDLE is generated/);
  });
});

describe('the bundling hook', () => {
  it('copies the file next to bootstrap, whatever characters the paths hold', () => {
    const out = path.join(dir, "asset output's dir");
    execFileSync('mkdir', ['-p', out]);
    const hook = caBundleHook(caFile);
    assert.deepEqual(hook.beforeBundling('/in', out), []);
    const commands = hook.afterBundling('/in', out);
    assert.equal(commands.length, 1);
    execFileSync('bash', ['-c', commands.join(' && ')]);
    assert.equal(readFileSync(path.join(out, CA_BUNDLE_FILE_NAME), 'utf8'), readFileSync(caFile, 'utf8'));
    assert.equal(CA_BUNDLE_PATH, `/var/task/${CA_BUNDLE_FILE_NAME}`);
  });

  it('fails the bundling (non-zero) when the file has gone', () => {
    const out = path.join(dir, 'out2');
    execFileSync('mkdir', ['-p', out]);
    const commands = caBundleHook(path.join(dir, 'gone.pem')).afterBundling('/in', out);
    assert.throws(() => execFileSync('bash', ['-c', commands.join(' && ')], { stdio: 'ignore' }));
  });
});
