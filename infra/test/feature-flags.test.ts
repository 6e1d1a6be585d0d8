/**
 * cdk.json carries the feature flags CDK recommends for a new app, and the one that makes REST
 * authorizer changes reach the live stage does its job.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { CDK_JSON_CONTEXT, synth, table } from './helpers';
import { ROUTES_FILE } from '../lib/route-table';

/** The set `cdk init` writes for this aws-cdk-lib version (what `cdk flags` compares against). */
const RECOMMENDED: Record<string, unknown> = JSON.parse(
  fs.readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
);

describe('feature flags (cdk.json)', () => {
  it('sets every flag CDK recommends for a new app, to the recommended value', () => {
    const missing = Object.keys(RECOMMENDED).filter((k) => !(k in CDK_JSON_CONTEXT));
    assert.deepEqual(missing, [], 'after a CDK upgrade, copy the new flags from aws-cdk-lib/recommended-feature-flags.json');
    for (const [k, v] of Object.entries(RECOMMENDED)) {
      assert.deepEqual(CDK_JSON_CONTEXT[k], v, k);
    }
    assert.equal(CDK_JSON_CONTEXT['@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId'], true);
  });

  it('gives the REST deployment a new logical id when an authorizer changes (TTL 300 -> 0)', () => {
    const doc = JSON.parse(fs.readFileSync(ROUTES_FILE, 'utf8'));
    const deploymentId = (ttl: number): string => {
      const d = structuredClone(doc);
      d.apis['pet-store'].cacheTtlSeconds = ttl;
      const { template } = synth({}, table(d));
      const ids = Object.keys(template.findResources('AWS::ApiGateway::Deployment'));
      assert.equal(ids.length, 1);
      return ids[0];
    };
    const at300 = deploymentId(300);
    assert.equal(deploymentId(300), at300, 'the same table gives the same deployment');
    assert.notEqual(deploymentId(0), at300, 'a changed authorizer TTL must redeploy the stage');
  });

  it('without the flag the deployment id would not change (the flag is what does it)', () => {
    const doc = JSON.parse(fs.readFileSync(ROUTES_FILE, 'utf8'));
    const deploymentId = (ttl: number): string => {
      const d = structuredClone(doc);
      d.apis['pet-store'].cacheTtlSeconds = ttl;
      const { template } = synth({ '@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId': false }, table(d));
      return Object.keys(template.findResources('AWS::ApiGateway::Deployment'))[0];
    };
    assert.equal(deploymentId(0), deploymentId(300));
  });
});
