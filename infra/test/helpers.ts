/** Test helpers: the app as `cdk synth` defines it, with bundling skipped. */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineApp } from '../bin/app';
import { type CacheKeyReader, authzConfigProgram, cacheKeyReader } from '../lib/authz-config';
import type { AuthzStack } from '../lib/authz-stack';
import { type RouteTable, parseRouteTable } from '../lib/route-table';

export const ISSUER = 'https://idp.example.com';

/** cdk.json's context (the feature flags): what `cdk synth` gives the app, so the tests see it too. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'),
).context;

/** Context every test app gets: cdk.json's, bundling skipped (no cargo build in unit tests). */
export const BASE_CONTEXT = {
  ...CDK_JSON_CONTEXT,
  'aws:cdk:bundling-stacks': [],
  issuer: ISSUER,
} as const;

export interface Synth {
  readonly app: App;
  readonly stack: AuthzStack;
  readonly template: Template;
}

/**
 * The environment of a CDK CLI or app process a test starts: the system's PATH with node and
 * cargo (every synth runs the `authz-config` reader, built with cargo: lib/authz-config.ts), not
 * .venv or cargo-lambda; the `authz-config` that scripts/test-infra.sh built, when it did
 * (AUTHZ_CONFIG_BIN); no CDK context of this process.
 */
export function cliEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cargo = path.dirname(execFileSync('sh', ['-c', 'command -v cargo'], { encoding: 'utf8' }).trim());
  return {
    HOME: process.env.HOME,
    PATH: [path.dirname(process.execPath), cargo, '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
    CDK_DISABLE_VERSION_CHECK: '1',
    ...(process.env.AUTHZ_CONFIG_BIN ? { AUTHZ_CONFIG_BIN: process.env.AUTHZ_CONFIG_BIN } : {}),
    ...extra,
  };
}

/** Defines the app with extra context (and optionally another route table) and synthesizes it. */
export function synth(context: Record<string, unknown> = {}, routeTable?: RouteTable): Synth {
  const app = new App({ context: { ...BASE_CONTEXT, ...context } });
  const stack = defineApp(app, { routeTable });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A route table document (the schema's shape) → validated table. */
export function table(doc: unknown): RouteTable {
  return parseRouteTable(doc, 'test-table');
}

/** Like {@link synth}, with no issuer in the context: the stack makes its own Cognito user pool. */
export function synthWithoutIssuer(context: Record<string, unknown> = {}, routeTable?: RouteTable): Synth {
  const { issuer: _external, ...base } = BASE_CONTEXT;
  const app = new App({ context: { ...base, ...context } });
  const stack = defineApp(app, { routeTable });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The resources of a type, by logical id. */
export function resources(template: Template, type: string): Record<string, { Properties: Record<string, any> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, any> }>;
}

/** The one resource of `type` whose properties match `pred`. */
export function only(
  template: Template,
  type: string,
  pred: (props: Record<string, any>) => boolean,
): { id: string; props: Record<string, any> } {
  const found = Object.entries(resources(template, type)).filter(([, r]) => pred(r.Properties ?? {}));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return { id: found[0][0], props: found[0][1].Properties };
}

/**
 * Where cargo puts the dev build of `authz-testkit-moto`: the workspace's target directory as
 * cargo itself resolves it (`cargo metadata`: CARGO_TARGET_DIR, `build.target-dir`, else
 * `target/`), then `debug/`.
 */
export function testkitMotoPath(): string {
  const root = path.join(__dirname, '..', '..');
  const metadata = execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return path.join(JSON.parse(metadata).target_directory, 'debug', 'authz-testkit-moto');
}

/** moto_server on loopback (the AWS APIs the smoke test's AWS CLI calls), as the Rust tests start it. */
export interface Moto {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The environment that points the AWS CLI at it, with dummy credentials and no user config. */
  readonly awsEnv: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts moto_server through the testkit's `authz-testkit-moto` (the Rust tests' own
 * `MotoServer`, not a copy of it: it finds moto_server, picks the port and waits until it
 * answers), which prints `{"endpoint"}` and stops moto when its stdin closes. The binary is
 * built by scripts/test-infra.sh (`cargo build -p authz-testkit --bin authz-testkit-moto`), which
 * passes its path as AUTHZ_TESTKIT_MOTO (it changes CARGO_TARGET_DIR for the synth); without it,
 * {@link testkitMotoPath}.
 */
export async function startMoto(): Promise<Moto> {
  const program = process.env.AUTHZ_TESTKIT_MOTO ?? testkitMotoPath();
  if (!fs.existsSync(program)) {
    throw new Error(`${program} is missing: run cargo build -p authz-testkit --bin authz-testkit-moto (scripts/test-infra.sh does)`);
  }
  const child = spawn(program, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`authz-testkit-moto gave no endpoint in 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        clearTimeout(timer);
        try {
          resolve(String(JSON.parse(line).endpoint));
        } catch {
          reject(new Error(`authz-testkit-moto: unexpected line ${line}`));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`authz-testkit-moto exited (${code}): ${stderr}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.end();
    await exited;
  };
  // No user AWS config or credentials file is read (a path that does not exist).
  const none = path.join(os.tmpdir(), `moto-aws-none-${process.pid}-${child.pid}`);
  const awsEnv = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_CONFIG_FILE: none,
    AWS_SHARED_CREDENTIALS_FILE: none,
  };
  return { endpoint, awsEnv, stop };
}

let reader: CacheKeyReader | undefined;

/**
 * An authorizer's cache key read from `environment` by `authz-config`, the reader the app uses
 * (AUTHZ_CONFIG_BIN when scripts/test-infra.sh built it, else built here with cargo).
 */
export const readCacheKey: CacheKeyReader = (kind, environment, stage) => {
  reader ??= cacheKeyReader(authzConfigProgram(path.join(__dirname, '..', '..'), process.env.AUTHZ_CONFIG_BIN));
  return reader(kind, environment, stage);
};
