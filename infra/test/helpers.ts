/** Test helpers: the app as `cdk synth` defines it, with bundling skipped. */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineApp } from '../bin/app';
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

/** moto_server on loopback (the AWS APIs the smoke test's AWS CLI calls), as the Rust tests start it. */
export interface Moto {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The environment that points the AWS CLI at it, with dummy credentials and no user config. */
  readonly awsEnv: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts `moto_server` from `<repo>/.venv/bin` (scripts/test-tools.sh moto installs it), else from
 * PATH, on a free loopback port, and waits until it answers; fails saying how to install it.
 */
export async function startMoto(): Promise<Moto> {
  const venv = path.join(__dirname, '..', '..', '.venv', 'bin', 'moto_server');
  let program = venv;
  if (!fs.existsSync(venv)) {
    try {
      program = execFileSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error('moto_server not found in .venv/bin nor on PATH; run scripts/test-tools.sh moto');
    }
  }
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const child = spawn(program, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${log}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not start in 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // No user AWS config or credentials file is read (a path that does not exist).
  const none = path.join(os.tmpdir(), `moto-aws-none-${process.pid}-${port}`);
  const awsEnv = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_CONFIG_FILE: none,
    AWS_SHARED_CREDENTIALS_FILE: none,
  };
  return { endpoint, awsEnv, stop };
}
