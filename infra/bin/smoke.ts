#!/usr/bin/env -S npx tsx
/**
 * Smoke test of deployed (or locally emulated) APIs against routes.json: see `--help`.
 * scripts/smoke.sh is the entry point; this file reads the environment and the command line.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type RouteTable, loadRouteTable } from '../lib/route-table';
import {
  type Check,
  clientVariables,
  describeCaller,
  outputName,
  planChecks,
  statusMatches,
  tokenVariable,
  urlVariable,
} from '../lib/smoke';

const HELP = `usage: scripts/smoke.sh [options]

Calls every route of routes.json on each API with no token, a bad token and each tier's token,
and checks the status the semantics table predicts for the route's authorizer type:

  authorizer         no token   bad token   tier without scope/claims   tier with them
  none               200        200         200                         200
  token / request    401        401         403                         2xx
  http (simple)      401        403         403                         2xx
  jwt (native)       401        401         403                         2xx

options:
  --outputs FILE     cdk outputs JSON (scripts/deploy.sh writes infra/cdk.out/outputs-<stage>.json);
                     the <Api>Url outputs give the base URLs
  --api NAME         only this API (repeatable)
  --routes FILE      another route table (default: infra/routes.json)
  --timeout SECONDS  per request (default 10)
  --dry-run          print the plan (requests and expected statuses) without calling anything
  -h, --help         this text

environment (API and tier names upper-cased, non-alphanumerics as _):
  SMOKE_URL_<API>             base URL of an API, e.g. SMOKE_URL_PET_STORE (overrides --outputs)
  SMOKE_TOKEN_<API>_<TIER>    access token of a tier, e.g. SMOKE_TOKEN_SOLAR_SYSTEM_GOLD
  or client credentials, fetched once per tier (OAuth 2.0 client_credentials grant):
  SMOKE_TOKEN_URL             the IdP's token endpoint
  SMOKE_CLIENT_ID_<API>_<TIER>, SMOKE_CLIENT_SECRET_<API>_<TIER>
  SMOKE_SCOPE_<API>_<TIER>    scope to request (default: the tier's scopes in routes.json)
  SMOKE_TOKEN_PARAMS          extra form parameters for the token request (e.g. audience=petstore)

A tier with neither is skipped (and said so). Exit status: 0 all checks passed, 1 a check failed,
2 usage error or nothing to check.
`;

interface Options {
  outputs?: string;
  apis: string[];
  routes?: string;
  timeoutMs: number;
  dryRun: boolean;
}

function parseArgs(argv: readonly string[]): Options | 'help' {
  const o: Options = { apis: [], timeoutMs: 10_000, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--outputs') o.outputs = value();
    else if (a === '--api') o.apis.push(value());
    else if (a === '--routes') o.routes = value();
    else if (a === '--timeout') {
      const s = Number(value());
      if (!(s > 0)) throw new UsageError('--timeout: a positive number of seconds');
      o.timeoutMs = s * 1000;
    } else if (a === '--dry-run') o.dryRun = true;
    else throw new UsageError(`unknown argument ${a}`);
  }
  return o;
}

class UsageError extends Error {}

function urlsFrom(table: RouteTable, outputsFile: string | undefined): Record<string, string> {
  const urls: Record<string, string> = {};
  if (outputsFile) {
    const doc = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>;
    for (const outputs of Object.values(doc)) {
      for (const api of table.apis) {
        const v = outputs[outputName(api.name)];
        if (v) urls[api.name] = v;
      }
    }
  }
  for (const api of table.apis) {
    const v = process.env[urlVariable(api.name)];
    if (v) urls[api.name] = v;
  }
  return urls;
}

async function fetchToken(api: RouteTable['apis'][number], tier: string, timeoutMs: number): Promise<string | undefined> {
  const vars = clientVariables(api.name, tier);
  const id = process.env[vars.id];
  const secret = process.env[vars.secret];
  const tokenUrl = process.env.SMOKE_TOKEN_URL;
  if (!id || !secret || !tokenUrl) return undefined;
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const scope = process.env[vars.scope] ?? api.tiers[tier].scopes.join(' ');
  if (scope) form.set('scope', scope);
  for (const [k, v] of new URLSearchParams(process.env.SMOKE_TOKEN_PARAMS ?? '')) form.set(k, v);
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: form,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string };
  if (!res.ok || !body.access_token) {
    throw new Error(`token request for ${api.name}/${tier} failed: HTTP ${res.status} ${body.error ?? ''}`.trim());
  }
  return body.access_token;
}

async function tokensFrom(table: RouteTable, timeoutMs: number): Promise<Record<string, Record<string, string>>> {
  const tokens: Record<string, Record<string, string>> = {};
  for (const api of table.apis) {
    tokens[api.name] = {};
    for (const tier of Object.keys(api.tiers)) {
      const t = process.env[tokenVariable(api.name, tier)] || (await fetchToken(api, tier, timeoutMs));
      if (t) tokens[api.name][tier] = t;
    }
  }
  return tokens;
}

async function run(check: Check, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (check.token) headers.authorization = `Bearer ${check.token}`;
  const withBody = ['POST', 'PUT', 'PATCH'].includes(check.method);
  if (withBody) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(check.url, {
      method: check.method,
      headers,
      body: withBody ? '{}' : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`smoke: ${(e as Error).message}\n(see --help)\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const table = loadRouteTable(opts.routes ? path.resolve(opts.routes) : undefined);
  for (const name of opts.apis) {
    if (!table.apis.some((a) => a.name === name)) {
      process.stderr.write(`smoke: no API "${name}" in the route table\n`);
      return 2;
    }
  }
  const urls = urlsFrom(table, opts.outputs);
  if (opts.dryRun) {
    const fakeUrls = Object.fromEntries(table.apis.map((a) => [a.name, urls[a.name] ?? `$${urlVariable(a.name)}`]));
    const fakeTokens = Object.fromEntries(
      table.apis.map((a) => [a.name, Object.fromEntries(Object.keys(a.tiers).map((t) => [t, '<token>']))]),
    );
    const byRoute = new Map<string, Check[]>();
    for (const c of planChecks(table, fakeUrls, fakeTokens, opts.apis).checks) {
      const key = `${c.api} ${c.route}`;
      byRoute.set(key, [...(byRoute.get(key) ?? []), c]);
    }
    for (const checks of byRoute.values()) {
      const c = checks[0];
      const expect = checks.map((x) => `${describeCaller(x.caller)} ${x.expected === 200 ? '2xx' : x.expected}`).join(', ');
      process.stdout.write(`${c.method} ${c.url}  [${c.api} ${c.route}, ${c.authorizer}]  ${expect}\n`);
    }
    return 0;
  }
  const tokens = await tokensFrom(table, opts.timeoutMs);
  const plan = planChecks(table, urls, tokens, opts.apis);
  if (plan.checks.length === 0) {
    for (const s of plan.skips) process.stdout.write(`skip  ${s.api}: ${s.what}: ${s.why}\n`);
    process.stderr.write('smoke: nothing to check (no API URL given); see --help\n');
    return 2;
  }
  let passed = 0;
  let failed = 0;
  for (const check of plan.checks) {
    const { status, error } = await run(check, opts.timeoutMs);
    const ok = status !== undefined && statusMatches(check.expected, status);
    if (ok) passed++;
    else failed++;
    const expected = check.expected === 200 ? '2xx' : String(check.expected);
    process.stdout.write(
      `${ok ? 'PASS' : 'FAIL'}  ${check.api}  ${check.route}  [${check.authorizer}]  ${describeCaller(check.caller)}: ` +
        `expected ${expected}, got ${status ?? error}\n`,
    );
  }
  for (const s of plan.skips) process.stdout.write(`skip  ${s.api}: ${s.what}: ${s.why}\n`);
  process.stdout.write(`${passed} passed, ${failed} failed, ${plan.skips.length} skipped\n`);
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`smoke: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
