/** Alarms on what operators care about, and the dashboard the stack creates. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COLD_START_FAILED_MESSAGE } from '../lib/authorizer-function';
import { resources, synth } from './helpers';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:authz-alarms';

describe('alarms', () => {
  const { stack, template } = synth({ alarmTopicArn: TOPIC });
  const alarms = resources(template, 'AWS::CloudWatch::Alarm');
  const alarm = (name: string) => {
    const found = Object.values(alarms).filter((a) => a.Properties.AlarmName === name);
    assert.equal(found.length, 1, name);
    return found[0].Properties;
  };
  const fnRef = (name: string) =>
    Object.entries(resources(template, 'AWS::Lambda::Function')).find(([, f]) => f.Properties.FunctionName === name)![0];

  it('alarm on any 5XX of each API (REST 5XXError by stage, HTTP 5xx by stage)', () => {
    const rest = alarm('ApiAuthz-dev-pet-store-5xx');
    assert.equal(rest.Namespace, 'AWS/ApiGateway');
    assert.equal(rest.MetricName, '5XXError');
    assert.deepEqual(rest.Dimensions.map((d: any) => d.Name).sort(), ['ApiName', 'Stage']);
    assert.equal(rest.Statistic, 'Sum');
    const http = alarm('ApiAuthz-dev-solar-system-5xx');
    assert.equal(http.MetricName, '5xx');
    assert.deepEqual(http.Dimensions.map((d: any) => d.Name).sort(), ['ApiId', 'Stage']);
  });

  it('alarm on authorizer faults, Lambda errors, throttles and failed cold starts of every function', () => {
    for (const f of ['pet-store-token', 'pet-store-request', 'solar-system-http']) {
      const name = `ApiAuthz-dev-${f}`;
      alarm(`${name}-authorizer-errors`);
      const throttles = alarm(`${name}-throttles`);
      assert.equal(throttles.MetricName, 'Throttles');
      assert.deepEqual(throttles.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fnRef(name) } }]);
      const cold = alarm(`${name}-cold-start-failures`);
      assert.equal(cold.Namespace, 'ApiAuthz/dev');
      assert.match(cold.MetricName, /ColdStartFailures$/);
      for (const a of [throttles, cold]) {
        assert.equal(a.Threshold, 1);
        assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
        assert.equal(a.TreatMissingData, 'notBreaching');
      }
    }
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: `{ $.message = "${COLD_START_FAILED_MESSAGE}" }`,
      MetricTransformations: [{ MetricNamespace: 'ApiAuthz/dev', MetricName: 'PetStoreTokenColdStartFailures', MetricValue: '1', DefaultValue: 0, Unit: 'Count' }],
    });
  });

  it("Lambda errors on REST authorizers leave out the 401s (the error 'Unauthorized'); the HTTP one counts them all", () => {
    const rest = alarm('ApiAuthz-dev-pet-store-token-lambda-errors');
    const ids = rest.Metrics.map((m: any) => m.Id);
    assert.ok(ids.includes('errors') && ids.includes('unauthorized'), ids.join(' '));
    assert.equal(rest.Metrics.length, 3);
    const expr = rest.Metrics.find((m: any) => m.Expression);
    assert.equal(expr.Expression, 'FILL(errors, 0) - FILL(unauthorized, 0)');
    assert.equal(expr.ReturnData ?? true, true);
    const errs = rest.Metrics.find((m: any) => m.Id === 'errors').MetricStat.Metric;
    assert.equal(errs.MetricName, 'Errors');
    assert.equal(rest.Metrics.find((m: any) => m.Id === 'unauthorized').MetricStat.Metric.MetricName, 'PetStoreTokenUnauthorized');
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.decision = "unauthorized" }',
      MetricTransformations: [{ MetricNamespace: 'ApiAuthz/dev', MetricName: 'PetStoreTokenUnauthorized', MetricValue: '1', DefaultValue: 0, Unit: 'Count' }],
    });
    const http = alarm('ApiAuthz-dev-solar-system-http-lambda-errors');
    assert.equal(http.MetricName, 'Errors');
    assert.equal(http.Metrics, undefined);
  });

  it('every alarm notifies the topic, and the stack knows them all', () => {
    assert.equal(Object.keys(alarms).length, 14);
    assert.equal(stack.alarms.length, 14);
    for (const a of Object.values(alarms)) assert.deepEqual(a.Properties.AlarmActions, [TOPIC], a.Properties.AlarmName);
  });

  it('the dashboard shows the alarms, each API 5XX, and decisions by decision and by reason', () => {
    const dash = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
    assert.equal(dash.length, 1);
    assert.equal(dash[0].Properties.DashboardName, 'ApiAuthz-dev');
    const body = JSON.stringify(dash[0].Properties.DashboardBody);
    assert.match(body, /alarms/);
    for (const f of ['PetStoreToken', 'PetStoreRequest', 'SolarSystemHttp']) {
      assert.match(body, new RegExp(`SEARCH\\('\\{ApiAuthz/dev,Decision,Reason\\} MetricName=\\\\+"${f}Decisions\\\\+"'`), `${f} by reason`);
    }
    assert.match(body, /decisions by reason/);
    assert.match(body, /5XXError/);
  });
});
