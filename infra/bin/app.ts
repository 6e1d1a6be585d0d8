#!/usr/bin/env -S npx tsx
/**
 * The CDK app: `cdk synth|deploy -c stage=<name> -c issuer=<url> [...]` (see infra/README.md).
 * With bin/context.ts, the only place that reads CDK context or environment variables.
 */
import * as path from 'node:path';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuthzStack } from '../lib/authz-stack';
import type { RouteTable } from '../lib/route-table';
import { PRODUCTION_STAGE, stackNameFor } from '../lib/stage-name';
import { type ContextKey, configFromContext } from './context';

/** The Cargo workspace this app deploys (the repository root). */
export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Defines the app's one stack (`<App>-<stage>`) from the app's context, with cdk-nag's
 * AwsSolutions checks as a validation plugin: synthesis fails on any unacknowledged finding.
 */
export function defineApp(
  app: App,
  opts: { readonly routeTable?: RouteTable; readonly env?: { account?: string; region?: string } } = {},
): AuthzStack {
  const config = configFromContext((key: ContextKey) => app.node.tryGetContext(key), {
    workspaceRoot: WORKSPACE_ROOT,
    routeTable: opts.routeTable,
  });
  const stack = new AuthzStack(app, stackNameFor(config.appName, config.stage), {
    config,
    env: opts.env,
    description: `Rust API Gateway authorizers with the ${config.routeTable.apis.map((a) => a.name).join(' and ')} APIs (stage ${config.stage})`,
    terminationProtection: config.stage === PRODUCTION_STAGE,
  });
  Tags.of(stack).add('app', config.appName);
  Tags.of(stack).add('stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

if (require.main === module) {
  const app = new App();
  try {
    defineApp(app, {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    });
  } catch (e) {
    // Configuration and route-table errors: one clear message, no stack trace.
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(1);
  }
  app.synth();
}
