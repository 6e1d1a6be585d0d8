/** The synth with every option on (the one cfn-lint checks in scripts/test-infra.sh). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { CONTEXT_KEYS } from '../bin/context';
import { ALL_OPTIONS, synthAllOptions } from '../scripts/synth-all-options';

describe('every option on', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-all-options-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { stack, templateFile } = synthAllOptions(dir);
  const template = Template.fromJSON(JSON.parse(fs.readFileSync(templateFile, 'utf8')));

  it('sets every context key but tokenQueryParam (it needs an API without caching)', () => {
    const unset = CONTEXT_KEYS.filter((k) => !(k in ALL_OPTIONS));
    assert.deepEqual(unset, ['tokenQueryParam', 'routesFile']);
  });

  it('synthesizes cdk-nag clean, with each option visible in the template', () => {
    assert.equal(stack.stackName, 'Demo-feature-all');
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      assert.deepEqual((a as any).Properties.AlarmActions, [ALL_OPTIONS.alarmTopicArn]);
    }
    for (const lg of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      assert.equal((lg as any).DeletionPolicy, 'Retain');
      assert.equal((lg as any).Properties.RetentionInDays, 14);
    }
    const rust = Object.values(template.findResources('AWS::Lambda::Function')).filter((f: any) => f.Properties.Runtime === 'provided.al2023');
    assert.equal(rust.length, 3);
    for (const f of rust as any[]) {
      assert.equal(f.Properties.MemorySize, 512);
      assert.equal(f.Properties.Timeout, 4);
      assert.deepEqual(f.Properties.VpcConfig.SecurityGroupIds, ['sg-0123456789abcdef0']);
      assert.equal(f.Properties.Environment.Variables.AUTHZ_REQUIRED_TYP, 'at+jwt');
      assert.equal(f.Properties.Environment.Variables.AUTHZ_CA_BUNDLE, '/var/task/ca-bundle.pem');
    }
  });
});
