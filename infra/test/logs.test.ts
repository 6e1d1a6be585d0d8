/** Log groups: every one the stages write to is in the template, with retention and removal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resources, synth } from './helpers';

type Res = { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] };

function logGroups(template: ReturnType<typeof synth>['template']): Record<string, Res> {
  return template.findResources('AWS::Logs::LogGroup') as Record<string, Res>;
}

function executionLogGroup(template: ReturnType<typeof synth>['template'], stage: string): [string, Res] {
  const restApiId = Object.keys(resources(template, 'AWS::ApiGateway::RestApi'))[0];
  const found = Object.entries(logGroups(template)).filter(([, r]) => {
    const name = r.Properties.LogGroupName;
    return JSON.stringify(name) === JSON.stringify({ 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: restApiId }, `/${stage}`]] });
  });
  assert.equal(found.length, 1, 'one execution log group, named as API Gateway names it');
  return found[0];
}

describe('log groups', () => {
  it('a branch stage creates the REST execution log group itself, before the stage, and deletes it', () => {
    const { template } = synth({ stage: 'feature-x' });
    const [id, lg] = executionLogGroup(template, 'feature-x');
    assert.equal(lg.Properties.RetentionInDays, 30);
    assert.equal(lg.DeletionPolicy, 'Delete');
    const stages = Object.values(template.findResources('AWS::ApiGateway::Stage')) as Res[];
    assert.equal(stages.length, 1);
    assert.ok((stages[0].DependsOn ?? []).includes(id), 'the stage waits for its execution log group');
    assert.equal(stages[0].Properties.MethodSettings[0].LoggingLevel, 'ERROR');
  });

  it('every log group of a branch stage has retention, a fixed name and is deleted with the stack', () => {
    const { template } = synth({ stage: 'feature-x' });
    const all = Object.values(logGroups(template));
    assert.equal(all.length, 7, '3 authorizers, the HTTP backend, 2 access logs, 1 execution log');
    for (const lg of all) {
      assert.equal(lg.Properties.RetentionInDays, 30);
      assert.equal(lg.DeletionPolicy, 'Delete');
      assert.ok(lg.Properties.LogGroupName !== undefined);
    }
  });

  it('prod keeps its log groups under generated names, so the stage can be created again after a destroy', () => {
    const { template } = synth({ stage: 'prod' });
    executionLogGroup(template, 'prod');
    const apiIds = [...Object.keys(resources(template, 'AWS::ApiGateway::RestApi')), ...Object.keys(resources(template, 'AWS::ApiGatewayV2::Api'))];
    for (const [id, lg] of Object.entries(logGroups(template))) {
      assert.equal(lg.DeletionPolicy, 'Retain', id);
      assert.equal(lg.Properties.RetentionInDays, 30, id);
      const name = lg.Properties.LogGroupName;
      // The execution and access log groups are named after their API's id: new with every new API.
      if (JSON.stringify(name?.['Fn::Join']?.[1] ?? []).match(new RegExp(`"Ref":"(${apiIds.join('|')})"`))) continue;
      assert.equal(name, undefined, `${id}: a kept log group with a fixed name blocks a re-create`);
    }
    // Each function and stage writes to its log group by reference, whatever its name.
    for (const fn of Object.values(resources(template, 'AWS::Lambda::Function'))) {
      assert.ok(fn.Properties.LoggingConfig.LogGroup.Ref in logGroups(template), fn.Properties.FunctionName);
    }
  });

  it('a kept log group is a choice (retainLogs) for any stage', () => {
    const { template } = synth({ stage: 'feature-x', retainLogs: 'true' });
    for (const lg of Object.values(logGroups(template))) assert.equal(lg.DeletionPolicy, 'Retain');
  });
});

describe('mock integrations', () => {
  it('escape what the authorizer and the caller control before putting it into JSON', () => {
    const { template } = synth();
    const bodies = Object.values(resources(template, 'AWS::ApiGateway::Method'))
      .map((m) => m.Properties.Integration?.IntegrationResponses?.[0]?.ResponseTemplates?.['application/json'] as string)
      .filter((b) => b?.includes('principalId'));
    assert.ok(bodies.length >= 3);
    for (const b of bodies) {
      assert.match(b, /"principalId":"\$util\.escapeJavaScript\(\$context\.authorizer\.principalId\)"/);
      assert.match(b, /"scope":"\$util\.escapeJavaScript\(\$context\.authorizer\.scope\)"/);
      assert.match(b, /"path":"\$util\.escapeJavaScript\(\$context\.path\)"/);
      assert.doesNotMatch(b.replace(/\$util\.escapeJavaScript\(\$context\.(authorizer\.\w+|path)\)/g, ''), /\$context\.(authorizer|path)/);
    }
  });
});
