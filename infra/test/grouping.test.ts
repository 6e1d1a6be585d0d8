/**
 * StageMonitoring and StageCustomDomain were split out of AuthzStack without changing a logical
 * id: a changed id makes CloudFormation replace the resource (a named alarm or API mapping then
 * collides with its old copy) and renames an output scripts read. The ids below are those the
 * stack had before the split (synthesized from that commit with the same context).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { GroupingConstruct, logicalIdWithoutGrouping } from '../lib/grouping';
import { StageCustomDomain } from '../lib/custom-domain';
import { StageMonitoring } from '../lib/monitoring';
import { synth } from './helpers';

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000';

describe('grouping constructs keep logical ids', () => {
  const { stack, template } = synth({ domainName: 'api.example.com', certificateArn: CERTIFICATE });

  it('monitoring and the custom domain are constructs of their own', () => {
    const kinds = stack.node.children.map((c) => c.constructor.name);
    assert.ok(kinds.includes(StageMonitoring.name), kinds.join());
    assert.ok(kinds.includes(StageCustomDomain.name), kinds.join());
  });

  it('their resources and outputs have the ids the stack gave them before the split', () => {
    const ids = (type: string) => Object.keys(template.findResources(type)).sort();
    assert.deepEqual(ids('AWS::CloudWatch::Dashboard'), ['Dashboard9E4231ED']);
    assert.deepEqual(ids('AWS::ApiGatewayV2::DomainName'), ['CustomDomain21DD44B6']);
    assert.deepEqual(ids('AWS::ApiGatewayV2::ApiMapping'), ['PetStoreCustomDomainMapping', 'SolarSystemCustomDomainMapping']);
    const serverErrors = ids('AWS::CloudWatch::Alarm').filter((id) => id.includes('ServerErrors'));
    assert.deepEqual(serverErrors, ['PetStoreServerErrorsAlarm4BB5C68D', 'SolarSystemServerErrorsAlarm34DE825C']);
    const outputs = Object.keys(template.toJSON().Outputs);
    for (const o of ['CustomDomainHostedZone', 'CustomDomainTarget', 'PetStoreCustomUrl', 'SolarSystemCustomUrl']) {
      assert.ok(outputs.includes(o), `output ${o} in ${outputs.join()}`);
    }
  });

  it('a grouping construct is left out of the id, at any depth; other constructs are not', () => {
    class Grouped extends Stack {
      protected allocateLogicalId(e: CfnElement): string {
        return logicalIdWithoutGrouping(e) ?? super.allocateLogicalId(e);
      }
    }
    const app = new App();
    const plain = new Grouped(app, 'Plain');
    new sqs.Queue(plain, 'Queue');
    new CfnOutput(plain, 'Out', { value: 'x' });
    const grouped = new Grouped(app, 'Grouped');
    const outer = new GroupingConstruct(grouped, 'Outer');
    new sqs.Queue(new GroupingConstruct(outer, 'Inner'), 'Queue');
    new CfnOutput(outer, 'Out', { value: 'x' });
    const subclass = new Grouped(app, 'Subclass');
    new sqs.Queue(new (class extends GroupingConstruct {})(subclass, 'Marked'), 'Queue');
    const unmarked = new Grouped(app, 'Unmarked');
    new sqs.Queue(new Construct(unmarked, 'Group'), 'Queue');
    const keys = (s: Stack) => {
      const t = Template.fromStack(s).toJSON();
      return [...Object.keys(t.Resources), ...Object.keys(t.Outputs ?? {})];
    };
    assert.deepEqual(keys(grouped), keys(plain));
    assert.deepEqual(keys(subclass), keys(plain).slice(0, 1));
    assert.notDeepEqual(keys(unmarked), keys(plain).slice(0, 1));
  });
});
