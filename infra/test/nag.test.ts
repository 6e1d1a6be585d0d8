import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { defineApp } from '../bin/app';
import { BASE_CONTEXT } from './helpers';

/** Every acknowledgment in the app: construct path, rule id, reason. */
function acknowledgments(app: App): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: id.replace(/^Annotation::/, ''), reason });
      }
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions checks', () => {
  it('the whole app synthesizes with no unacknowledged finding', () => {
    const app = new App({ context: { ...BASE_CONTEXT } });
    defineApp(app);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion?: string; violations: unknown[] }[];
    };
    for (const r of report.pluginReports) assert.deepEqual(r.violations, [], r.pluginName);
  });

  it('every acknowledgment names its rule and gives a reason; the set is the expected one', () => {
    const app = new App({ context: { ...BASE_CONTEXT } });
    defineApp(app);
    const acks = acknowledgments(app);
    for (const a of acks) assert.ok(a.reason.trim().length >= 30, `${a.path} ${a.id}: a real reason`);
    assert.deepEqual(
      acks.map((a) => `${a.id} ${a.path}`).sort(),
      [
        'AwsSolutions-APIG3 ApiAuthz-dev/PetStore/Api/DeploymentStage.dev',
        'AwsSolutions-APIG4 ApiAuthz-dev/PetStore/Api/Default/GET',
        'AwsSolutions-APIG4 ApiAuthz-dev/SolarSystem/GetRoot',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/GET',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/pets/GET',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/pets/POST',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/pets/{petId}/DELETE',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/pets/{petId}/GET',
        'AwsSolutions-COG4 ApiAuthz-dev/PetStore/Api/Default/pets/{petId}/PUT',
      ],
    );
  });

  it('is really on: an unacknowledged public method fails synthesis', () => {
    const app = new App({ context: { ...BASE_CONTEXT } });
    const stack = defineApp(app);
    const api = stack.node.findChild('PetStore').node.findChild('Api') as apigw.RestApi;
    api.root.addResource('open').addMethod('GET', new apigw.MockIntegration());
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
