#!/usr/bin/env -S npx tsx
/**
 * Synthesizes the app with every option on (bundling skipped: the template is what matters) into
 * the directory given: `npx tsx scripts/synth-all-options.ts OUTDIR`. scripts/test-infra.sh runs
 * cfn-lint over the result next to the default synth; test/all-options.test.ts checks it.
 * `tokenQueryParam` is left out: it needs an API with cacheTtlSeconds 0, which routes.json has not.
 */
import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineApp } from '../bin/app';

export const ALL_OPTIONS_STAGE = 'feature-all';

/** Every context option of infra/README.md's table (except tokenQueryParam), as strings like `-c`. */
export const ALL_OPTIONS: Readonly<Record<string, string>> = {
  stage: ALL_OPTIONS_STAGE,
  issuer: 'https://idp.example.com',
  audiences: 'pet-store=api://petstore,solar-system=solar',
  algorithms: 'RS256,ES256',
  contextClaims: 'email,groups',
  jwksUri: 'https://idp.example.com/jwks.json',
  introspectionSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:authz/introspection-AbCdEf',
  authzEnvironment: '{"AUTHZ_REQUIRED_TYP":"at+jwt"}',
  architecture: 'x86_64',
  memorySizeMb: '512',
  timeoutSeconds: '4',
  logRetentionDays: '14',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
  availabilityZones: 'eu-west-1a,eu-west-1b',
  securityGroupIds: 'sg-0123456789abcdef0',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:authz-alarms',
  webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/authz/0123abcd-0000-0000-0000-000000000000',
  retainLogs: 'true',
  createApiGatewayCloudWatchRole: 'true',
  restStageVariables: 'color=blue',
  appName: 'Demo',
  sourceBranch: ALL_OPTIONS_STAGE,
  throttleRateLimit: '500',
  throttleBurstLimit: '1000',
  routeThrottles: '{"POST /pets":"5:10","GET /moons":"1:2"}',
  reservedConcurrency: '20',
  tracing: 'true',
  usagePlanClaim: 'client_id',
  usagePlanQuotaPerDay: '5000',
  corsOrigin: 'https://app.example.com',
  domainName: 'api.example.com',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000',
  mtlsTruststoreUri: 's3://demo-truststore/authz/truststore.pem',
  mtlsTruststoreVersion: 'Ver.1-aBcD',
  caBundle: path.join(__dirname, '..', 'test', 'fixtures', 'ca-bundle.pem'),
};

/** The app with every option on and bundling skipped, synthesized into `outdir`. */
export function synthAllOptions(outdir: string, extraContext: Record<string, unknown> = {}) {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  const app = new App({
    outdir,
    context: { ...cdkJson.context, ...ALL_OPTIONS, ...extraContext, 'aws:cdk:bundling-stacks': [] },
  });
  const stack = defineApp(app, { env: { account: '123456789012', region: 'eu-west-1' } });
  const assembly = app.synth();
  return { app, stack, assembly, templateFile: path.join(outdir, `${stack.stackName}.template.json`) };
}

if (require.main === module) {
  const outdir = process.argv[2];
  if (!outdir) {
    process.stderr.write('usage: synth-all-options.ts OUTDIR\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${synthAllOptions(path.resolve(outdir)).templateFile}\n`);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
