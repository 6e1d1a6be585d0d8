/**
 * Account-wide limits a stage must respect (REFERENCE.md, "Checked 2026-12-06"): access log
 * groups under /aws/vendedlogs/ (the CloudWatch Logs resource policy), reserved concurrency
 * (100 unreserved), and CORS on every answer API Gateway makes itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ALL_OPTIONS } from '../scripts/synth-all-options';
import { type Synth, resources, synth, synthWithoutIssuer } from './helpers';

/** AWS's prefix for log groups that need no resource policy entry (a fact of AWS, not of the app). */
const VENDED_LOGS_PREFIX = '/aws/vendedlogs/';

/** Every logical id an expression refers to (`Ref`, `Fn::GetAtt`), at any depth. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value === null || typeof value !== 'object') return [];
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return [v.Ref];
  if (Array.isArray(v['Fn::GetAtt'])) return [String(v['Fn::GetAtt'][0])];
  return Object.values(v).flatMap(refs);
}

/** Every API stage's access log destination, as the log group it names. */
function accessLogGroups({ template }: Synth): { stage: string; name: unknown }[] {
  const groups = resources(template, 'AWS::Logs::LogGroup');
  const rest = Object.entries(resources(template, 'AWS::ApiGateway::Stage')).map(([id, s]) => [id, s.Properties.AccessLogSetting?.DestinationArn]);
  const http = Object.entries(resources(template, 'AWS::ApiGatewayV2::Stage')).map(([id, s]) => [id, s.Properties.AccessLogSettings?.DestinationArn]);
  return [...rest, ...http].map(([stage, arn]) => {
    assert.ok(arn, `${stage} has an access log destination`);
    const named = refs(arn).filter((id) => id in groups);
    assert.equal(named.length, 1, `${stage}: its destination is a log group of the stack: ${JSON.stringify(arn)}`);
    return { stage, name: groups[named[0]].Properties.LogGroupName };
  });
}

/** The literal start of a log group name (a string, or the first part of an Fn::Join). */
function literalStart(name: unknown): string {
  if (typeof name === 'string') return name;
  const join = (name as any)?.['Fn::Join'];
  if (join && join[0] === '' && typeof join[1][0] === 'string') return join[1][0];
  return '';
}

describe('access logs stay out of the account-wide CloudWatch Logs resource policy', () => {
  for (const [what, s] of [
    ['a branch stage', () => synth({ stage: 'feature-x' })],
    ['prod (kept log groups)', () => synth({ stage: 'prod' })],
    ['the stage\'s own user pool', () => synthWithoutIssuer()],
  ] as const) {
    it(`every access log group is under ${VENDED_LOGS_PREFIX}: ${what}`, () => {
      const found = accessLogGroups(s());
      assert.equal(found.length, 2, 'a REST and an HTTP stage');
      for (const { stage, name } of found) assert.ok(literalStart(name).startsWith(VENDED_LOGS_PREFIX), `${stage}: ${JSON.stringify(name)}`);
    });
  }

  it('a kept access log group is named after its API id, so a re-created stage gets a new one', () => {
    const { template } = synth({ stage: 'prod' });
    const apis = [...Object.keys(resources(template, 'AWS::ApiGateway::RestApi')), ...Object.keys(resources(template, 'AWS::ApiGatewayV2::Api'))];
    for (const { stage, name } of accessLogGroups({ template } as Synth)) {
      const parts: unknown[] = (name as any)['Fn::Join'][1];
      assert.ok(parts.some((p: any) => apis.includes(p?.Ref)), `${stage}: ${JSON.stringify(name)}`);
    }
  });
});

describe('reserved concurrency', () => {
  it('warns at synth with Lambda\'s rule and what the stage reserves in all', () => {
    const { stack } = synth({ reservedConcurrency: '20' });
    const warnings = Annotations.fromStack(stack).findWarning(
      '*',
      Match.stringLikeRegexp('reservedConcurrency 20 reserves 60 concurrent executions.*at least 100.*unreserved.*at least 160'),
    );
    assert.equal(warnings.length, 1, JSON.stringify(Annotations.fromStack(stack).findWarning('*', Match.anyValue())));
  });

  it('no warning when nothing is reserved', () => {
    const { stack } = synth();
    assert.equal(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('reservedConcurrency')).length, 0);
  });
});

describe('CORS on every answer of a REST API', () => {
  it('the default 4XX and 5XX gateway responses carry the CORS headers too (429, missing token, invalid key, 5XX)', () => {
    const { template } = synth({ corsOrigin: ALL_OPTIONS.corsOrigin });
    const byType = Object.fromEntries(
      Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse')).map((r) => [r.Properties.ResponseType, r.Properties]),
    );
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX', 'UNAUTHORIZED', 'ACCESS_DENIED']) {
      const headers = byType[type]?.ResponseParameters ?? {};
      assert.equal(headers['gatewayresponse.header.Access-Control-Allow-Origin'], `'${ALL_OPTIONS.corsOrigin}'`, type);
      assert.equal(headers['gatewayresponse.header.Access-Control-Expose-Headers'], "'WWW-Authenticate'", type);
      assert.equal(headers['gatewayresponse.header.Vary'], "'Origin'", type);
    }
    // Only the headers: API Gateway's own status codes and bodies stay.
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      assert.equal(byType[type].StatusCode, undefined);
      assert.equal(byType[type].ResponseTemplates, undefined);
    }
  });

  it('without corsOrigin no default response is changed', () => {
    const { template } = synth();
    const types = Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties.ResponseType);
    assert.deepEqual(types.sort(), ['ACCESS_DENIED', 'UNAUTHORIZED']);
  });
});
