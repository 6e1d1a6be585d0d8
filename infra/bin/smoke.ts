#!/usr/bin/env -S npx tsx
/**
 * Smoke test of deployed (or locally emulated) APIs against routes.json: see `--help`.
 * scripts/smoke.sh is the entry point; this file reads the environment and the command line.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DESCRIBE_USER_POOL_CLIENT } from '../lib/ci-permissions';
import { type RouteTable, loadRouteTable } from '../lib/route-table';
import {
  type Check,
  type PoolOutputs,
  clientVariables,
  NEW_DOMAIN_RETRY,
  fetchClientCredentialsToken,
  fetchTokenWithRetry,
  poolFromOutputs,
  describeCaller,
  outputName,
  planChecks,
  statusMatches,
  tokenParamsVariable,
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
  SMOKE_SCOPE_<API>_<TIER>    scope to request (default: the tier's scopes in routes.json;
                              Entra ID: <App ID URI>/.default)
  SMOKE_TOKEN_PARAMS_<API>    extra form parameters for that API's token requests (e.g. Auth0's
                              audience=https://petstore.example.com); default SMOKE_TOKEN_PARAMS
  SMOKE_TOKEN_PARAMS          extra form parameters for every API's token requests
  (an empty variable counts as unset)

stack with its own Cognito user pool (deployed without -c issuer): with --outputs, each tier
without SMOKE_TOKEN_<API>_<TIER> gets its token from the TokenEndpoint output with the tier's app
client (<Api><Tier>ClientId output); its secret is SMOKE_CLIENT_SECRET_<API>_<TIER> if set, else
read with your AWS credentials (aws cognito-idp describe-user-pool-client; never printed). A new
Cognito domain can take a minute to answer: its token requests are retried for up to 120 s while
they fail transiently (unreachable, HTTP 5xx, 403, 404). A failed token request is an error
(exit 2), not a skip.

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

type OutputsDoc = Record<string, Record<string, string>>;

function readOutputs(outputsFile: string | undefined): OutputsDoc {
  return outputsFile ? (JSON.parse(readFileSync(outputsFile, 'utf8')) as OutputsDoc) : {};
}

function urlsFrom(table: RouteTable, doc: OutputsDoc): Record<string, string> {
  const urls: Record<string, string> = {};
  {
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

/** A tier's token from client credentials in the environment (SMOKE_TOKEN_URL and the tier's id and secret). */
async function fetchToken(api: RouteTable['apis'][number], tier: string, timeoutMs: number): Promise<string | undefined> {
  const vars = clientVariables(api.name, tier);
  const clientId = process.env[vars.id];
  const clientSecret = process.env[vars.secret];
  const tokenUrl = process.env.SMOKE_TOKEN_URL;
  if (!clientId || !clientSecret || !tokenUrl) return undefined;
  // An empty variable is an unset one (CI passes every repository variable, set or not).
  const scope = process.env[vars.scope] || api.tiers[tier].scopes.join(' ');
  const extraParams = new URLSearchParams(process.env[tokenParamsVariable(api.name)] || process.env.SMOKE_TOKEN_PARAMS || '');
  try {
    return await fetchClientCredentialsToken({ tokenUrl, clientId, clientSecret, scope, extraParams, timeoutMs });
  } catch (e) {
    throw new Error(`token request for ${api.name}/${tier}: ${(e as Error).message}`);
  }
}

/**
 * An app client's secret, read with the caller's AWS credentials through the AWS CLI. The
 * secret stays in this process (stdout captured, never printed); errors show the CLI's stderr.
 */
export function readClientSecret(pool: PoolOutputs, clientId: string, timeoutMs: number): Promise<string> {
  const args = [...DESCRIBE_USER_POOL_CLIENT.cli, '--user-pool-id', pool.userPoolId, '--client-id', clientId,
    '--region', pool.region, '--query', 'UserPoolClient.ClientSecret', '--output', 'text'];
  return new Promise((resolve, reject) => {
    execFile('aws', args, { timeout: Math.max(timeoutMs, 30_000), maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const secret = String(stdout).trim();
      if (err) reject(new Error(`aws cognito-idp describe-user-pool-client --client-id ${clientId} failed: ${String(stderr).trim() || err.message}`));
      else if (!secret || secret === 'None') reject(new Error(`app client ${clientId} has no secret`));
      else resolve(secret);
    });
  });
}

/** A tier's token from the stack's own user pool: its client id output, its secret (env or AWS). */
async function poolToken(pool: PoolOutputs, api: string, tier: string, timeoutMs: number): Promise<string> {
  const clientId = pool.clients[api][tier];
  try {
    const clientSecret = process.env[clientVariables(api, tier).secret] || (await readClientSecret(pool, clientId, timeoutMs));
    // No scope parameter: Cognito grants the client every scope it may have, the tier's.
    return await fetchTokenWithRetry({ tokenUrl: pool.tokenEndpoint, clientId, clientSecret, timeoutMs }, NEW_DOMAIN_RETRY);
  } catch (e) {
    throw new Error(`token for ${api}/${tier} from the stack's user pool (client ${clientId}): ${(e as Error).message}`);
  }
}

async function tokensFrom(table: RouteTable, pool: PoolOutputs | undefined, timeoutMs: number): Promise<Record<string, Record<string, string>>> {
  const tokens: Record<string, Record<string, string>> = {};
  for (const api of table.apis) {
    tokens[api.name] = {};
    for (const tier of Object.keys(api.tiers)) {
      const t =
        process.env[tokenVariable(api.name, tier)] ||
        (await fetchToken(api, tier, timeoutMs)) ||
        (pool?.clients[api.name]?.[tier] !== undefined ? await poolToken(pool, api.name, tier, timeoutMs) : undefined);
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
  const outputs = readOutputs(opts.outputs);
  const urls = urlsFrom(table, outputs);
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
  const pool = poolFromOutputs(table, outputs);
  if (pool) process.stdout.write(`tokens: the user pool ${pool.userPoolId} of ${pool.stack} (${pool.tokenEndpoint})\n`);
  const tokens = await tokensFrom(table, pool, opts.timeoutMs);
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

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`smoke: ${(e as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
