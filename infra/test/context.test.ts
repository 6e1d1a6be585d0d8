import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ContextKey, configFromContext } from '../bin/context';
import { DEFAULTS } from '../lib/config';

function config(ctx: Partial<Record<ContextKey, unknown>>) {
  return configFromContext((k) => ctx[k], { workspaceRoot: '/ws' });
}

describe('context → typed configuration', () => {
  it('defaults: stage dev, arm64, 256 MB, 5 s, 30 days, the repository route table', () => {
    const c = config({ issuer: 'https://idp.example.com' });
    assert.equal(c.stage, 'dev');
    assert.equal(c.appName, 'ApiAuthz');
    assert.equal(c.authorizers.architecture, 'arm64');
    assert.equal(c.authorizers.memorySizeMb, DEFAULTS.memorySizeMb);
    assert.equal(c.authorizers.timeoutSeconds, DEFAULTS.timeoutSeconds);
    assert.equal(c.authorizers.logRetentionDays, 30);
    assert.deepEqual(c.routeTable.apis.map((a) => a.name), ['pet-store', 'solar-system']);
    assert.equal(c.workspaceRoot, '/ws');
  });

  it('accepts strings (command line) and JSON values (cdk.json)', () => {
    const fromCli = config({
      issuer: 'https://idp.example.com',
      algorithms: 'RS256, ES256',
      memorySizeMb: '512',
      retainLogs: 'true',
      audiences: 'pet-store=a,solar-system=b',
      authzEnvironment: '{"AUTHZ_LEEWAY_SECONDS":"10"}',
    });
    const fromJson = config({
      issuer: 'https://idp.example.com',
      algorithms: ['RS256', 'ES256'],
      memorySizeMb: 512,
      retainLogs: true,
      audiences: { 'pet-store': 'a', 'solar-system': 'b' },
      authzEnvironment: { AUTHZ_LEEWAY_SECONDS: 10 },
    });
    for (const c of [fromCli, fromJson]) {
      assert.deepEqual(c.authorizers.algorithms, ['RS256', 'ES256']);
      assert.equal(c.authorizers.memorySizeMb, 512);
      assert.equal(c.retainLogs, true);
      assert.deepEqual(c.authorizers.audienceOverrides, { 'pet-store': 'a', 'solar-system': 'b' });
      assert.deepEqual(c.authorizers.extraEnvironment, { AUTHZ_LEEWAY_SECONDS: '10' });
    }
  });

  it('says what is wrong, naming the key', () => {
    assert.throws(() => config({ issuer: 'https://i', stage: 'Feature_1' }), /context stage "Feature_1".*feature-1/);
    assert.throws(() => config({ issuer: 'https://i', architecture: 'arm' }), /architecture "arm": arm64 or x86_64/);
    assert.throws(() => config({ issuer: 'https://i', memorySizeMb: 'lots' }), /memorySizeMb: "lots" is not a whole number/);
    assert.throws(() => config({ issuer: 'https://i', retainLogs: 'yes' }), /retainLogs: "yes" is not true or false/);
    assert.throws(() => config({ issuer: 'https://i', vpcId: 'vpc-1' }), /vpcId needs subnetIds/);
    assert.throws(() => config({ issuer: 'https://i', subnetIds: 'subnet-1' }), /need vpcId/);
    assert.throws(() => config({ issuer: 'https://i', routesFile: '/nonexistent/routes.json' }), /cannot read it as JSON/);
  });
});
