#!/usr/bin/env -S npx tsx
/**
 * The CDK app: `cdk synth|deploy -c stage=<name> -c issuer=<url> [...]` (see infra/README.md).
 * With bin/context.ts, the only place that reads CDK context or environment variables.
 */
import * as path from 'node:path';
import { App, Stack, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuthzStack } from '../lib/authz-stack';
import type { RouteTable } from '../lib/route-table';
import { PRODUCTION_STAGE, stackNameFor } from '../lib/stage-name';
import { type ContextKey, checkContextKeys, configFromContext } from './context';
import { bundlingOff, bundlingPath, cliBundles } from './toolchain';

/** The stack a command that builds nothing sees when the context defines no real one. */
export const PLACEHOLDER_STACK = 'NoStackContextIncomplete';

/** The context key the CLI sets to the stacks it wants bundled (`[]`: none). */
const BUNDLING_STACKS = 'aws:cdk:bundling-stacks';

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
  checkContextKeys(Object.keys(app.node.getAllContext()));
  const config = {
    ...configFromContext((key: ContextKey) => app.node.tryGetContext(key), {
      workspaceRoot: WORKSPACE_ROOT,
      routeTable: opts.routeTable,
    }),
    // The reader of the authorizers' configuration (lib/authz-config.ts): scripts/test-infra.sh
    // passes the one it built; unset, the app builds it with cargo.
    authzConfigProgram: process.env.AUTHZ_CONFIG_BIN,
  };
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
  // `-c bundling=false` (template only) is applied as the last context layer: the CLI itself
  // refuses `-c aws:cdk:bundling-stacks=[]`.
  const given = new App({ autoSynth: false });
  let templateOnly: boolean;
  try {
    // Before anything else, whatever the command: a misspelt key is never meant.
    checkContextKeys(Object.keys(given.node.getAllContext()));
    templateOnly = bundlingOff(given.node.tryGetContext('bundling'));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const app = templateOnly ? new App({ postCliContext: { [BUNDLING_STACKS]: [] } }) : new App();
  // Commands that bundle nothing (cdk bootstrap, list, destroy, …) get bundling-stacks [] from
  // the CLI; synth, diff and deploy get the stacks to bundle.
  const bundles = cliBundles(app.node.tryGetContext(BUNDLING_STACKS));
  let architecture: 'arm64' | 'x86_64' | undefined;
  try {
    architecture = configFromContext((key: ContextKey) => app.node.tryGetContext(key), {
      workspaceRoot: WORKSPACE_ROOT,
    }).authorizers.architecture;
  } catch (e) {
    if (bundles || templateOnly) {
      // Configuration and route-table errors: one clear message, no stack trace.
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exit(1);
    }
    // `cdk bootstrap aws://ACCOUNT/REGION` synthesizes the app but needs none of its stacks
    // (only one to exist): it must not depend on the app's context. So a command that builds
    // nothing gets an empty placeholder stack instead, and a note saying why.
    process.stderr.write(
      `note: ${(e as Error).message}; the app defines only the empty stack ${PLACEHOLDER_STACK} (enough for cdk bootstrap)\n`,
    );
    new Stack(app, PLACEHOLDER_STACK, { description: 'placeholder: the app context is incomplete; never deployed' });
  }
  if (architecture !== undefined) {
    try {
      // Before any RustFunction exists: cargo-lambda-cdk looks for cargo-lambda once, at the first.
      if (bundles) {
        process.env.PATH = bundlingPath({ workspaceRoot: WORKSPACE_ROOT, pathEnv: process.env.PATH, architecture });
      }
      defineApp(app, {
        env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
      });
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exit(1);
    }
  }
  app.synth();
}
