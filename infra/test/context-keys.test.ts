/**
 * Unknown context keys are refused, with the nearest known key, on every path a key can take:
 * `-c` (the real CLI), cdk.json (the real CLI in a project directory of its own),
 * CDK_CONTEXT_JSON (the app run directly, as the CLI runs it) and the app as the tests define it.
 * scripts/deploy.sh's path is in test/scripts/deploy-scripts.test.ts. CDK's own keys (feature
 * flags, `aws:cdk:*`, the lookup cache of cdk.context.json) pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { APP_SWITCH_KEYS, CONTEXT_KEYS, ContextError, checkContextKeys, closestContextKey } from '../bin/context';
import { CDK_JSON_CONTEXT, cliEnvironment, synth } from './helpers';

const INFRA = path.resolve(__dirname, '..');
const CDK = path.join(INFRA, 'node_modules', '.bin', 'cdk');
const ISSUER = 'https://idp.example.com';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-context-keys-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** What cdk.context.json holds after lookups and `cdk acknowledge` (the CLI's own cache). */
const LOOKUP_CACHE = {
  'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a', 'eu-west-1b'],
  'hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1': { Id: '/hostedzone/Z1', Name: 'example.com.' },
  'vpc-provider:account=123456789012:filter.vpc-id=vpc-1:region=eu-west-1:returnAsymmetricSubnets=true': {},
  'acknowledged-issue-numbers': [12345],
};

/** A CLI or app process's environment (helpers.ts): no CDK context of this process. */
const env = cliEnvironment;

describe('unknown context keys', () => {
  it('are refused with the nearest known key, as the authorizers refuse an unknown AUTHZ_* name', () => {
    assert.throws(() => checkContextKeys(['stage', 'isuer']), (e: Error) => {
      assert.ok(e instanceof ContextError);
      assert.match(e.message, /^unknown context key isuer \(did you mean issuer\?\)/);
      return true;
    });
    assert.throws(() => checkContextKeys(['memorySizeMB']), /memorySizeMB \(did you mean memorySizeMb\?\)/);
    assert.throws(() => checkContextKeys(['reservedConcurency', 'corsOrigins']), /corsOrigins \(did you mean corsOrigin\?\), reservedConcurency \(did you mean reservedConcurrency\?\)/);
    assert.throws(() => checkContextKeys(['bundlng']), /did you mean bundling\?/);
    assert.equal(closestContextKey('usagePlan'), 'usagePlanClaim');
  });

  it('pass: every key the app reads, the feature flags, the CLI\'s aws:cdk:* and the lookup cache', () => {
    checkContextKeys([...CONTEXT_KEYS, ...APP_SWITCH_KEYS]);
    checkContextKeys(Object.keys(CDK_JSON_CONTEXT));
    checkContextKeys(['aws:cdk:bundling-stacks', 'aws:cdk:enable-path-metadata', 'aws:cdk:version-reporting', 'aws-cdk:enableDiffNoFail']);
    checkContextKeys(Object.keys(LOOKUP_CACHE));
    // A lookup cache key needs a provider CDK has: anything else with a colon is no exemption.
    assert.throws(() => checkContextKeys(['issuer:https']), /unknown context key issuer:https/);
  });

  it('in the app as defined (new App({ context }))', () => {
    assert.throws(() => synth({ isuer: ISSUER }), /unknown context key isuer \(did you mean issuer\?\)/);
  });

  it('-c on the command line: the real CLI exits non-zero with the message', () => {
    const out = path.join(scratch, 'cli');
    const r = spawnSync(CDK, ['synth', '-c', `isuer=${ISSUER}`, '-c', 'bundling=false', '--quiet', '--output', out], {
      cwd: INFRA,
      env: env(),
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /error: unknown context key isuer \(did you mean issuer\?\)/);
    assert.equal(fs.existsSync(path.join(out, 'ApiAuthz-dev.template.json')), false);
  });

  it('cdk.json and cdk.context.json: a misspelt key is refused, the lookup cache is not', () => {
    // A project directory of its own, running this app with cdk.json's feature flags.
    const project = fs.mkdtempSync(path.join(scratch, 'project-'));
    const app = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(require.resolve('tsx'))} ${JSON.stringify(path.join(INFRA, 'bin', 'app.ts'))}`;
    const writeCdkJson = (extra: Record<string, unknown>) =>
      fs.writeFileSync(path.join(project, 'cdk.json'), JSON.stringify({ app, context: { ...CDK_JSON_CONTEXT, ...extra } }));
    fs.writeFileSync(path.join(project, 'cdk.context.json'), JSON.stringify(LOOKUP_CACHE));
    const cdkSynth = () =>
      spawnSync(CDK, ['synth', '-c', `issuer=${ISSUER}`, '-c', 'bundling=false', '--quiet', '--output', path.join(project, 'out')], {
        cwd: project,
        env: env(),
        encoding: 'utf8',
        timeout: 300_000,
      });

    writeCdkJson({ memorySizeMB: 256 });
    const refused = cdkSynth();
    assert.notEqual(refused.status, 0, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /error: unknown context key memorySizeMB \(did you mean memorySizeMb\?\)/);

    writeCdkJson({ memorySizeMb: 256 });
    const ok = cdkSynth();
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const template = JSON.parse(fs.readFileSync(path.join(project, 'out', 'ApiAuthz-dev.template.json'), 'utf8'));
    const sizes = Object.values(template.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'provided.al2023')
      .map((r) => r.Properties.MemorySize);
    assert.deepEqual([...new Set(sizes)], [256]);
  });

  it('CDK_CONTEXT_JSON: the app run directly, as the CLI runs it', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(INFRA, 'bin', 'app.ts')], {
      cwd: INFRA,
      env: env({
        CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], isuer: ISSUER }),
        CDK_OUTDIR: path.join(scratch, 'direct'),
      }),
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: unknown context key isuer \(did you mean issuer\?\)/m);
  });
});
