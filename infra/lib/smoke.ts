/**
 * The smoke test's plan: every route of the route table, called with no token, a bad token and
 * each tier's token, with the status the semantics table predicts. Pure; bin/smoke.ts runs it.
 */
import {
  type ApiSpec,
  type Caller,
  type RouteSpec,
  type RouteTable,
  expectedStatus,
  methodOf,
  pascalCase,
  poolTiers,
  samplePath,
} from './route-table';

/** A well-formed JWT (RS256 header, claims) whose signature is garbage: every verifier must refuse it. */
export const BAD_TOKEN =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNtb2tlIn0.' +
  'eyJpc3MiOiJodHRwczovL2ludmFsaWQuZXhhbXBsZSIsInN1YiI6InNtb2tlIiwiYXVkIjoic21va2UiLCJleHAiOjQxMDI0NDQ4MDB9.' +
  'c21va2UtdGVzdC1ub3QtYS1zaWduYXR1cmU';

/** `pet-store` → `PET_STORE`. */
export function envPart(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** Environment variable with an API's base URL. */
export function urlVariable(api: string): string {
  return `SMOKE_URL_${envPart(api)}`;
}

/** Environment variable with a tier's access token. */
export function tokenVariable(api: string, tier: string): string {
  return `SMOKE_TOKEN_${envPart(api)}_${envPart(tier)}`;
}

/** Client-credentials variables of a tier (used when its token variable is unset). */
export function clientVariables(api: string, tier: string): { id: string; secret: string; scope: string } {
  const s = `${envPart(api)}_${envPart(tier)}`;
  return { id: `SMOKE_CLIENT_ID_${s}`, secret: `SMOKE_CLIENT_SECRET_${s}`, scope: `SMOKE_SCOPE_${s}` };
}

/** Extra token-request form parameters for one API (e.g. Auth0's `audience`), else SMOKE_TOKEN_PARAMS. */
export function tokenParamsVariable(api: string): string {
  return `SMOKE_TOKEN_PARAMS_${envPart(api)}`;
}

/** The stack output holding an API's URL (`cdk deploy --outputs-file`). */
export function outputName(api: string): string {
  return `${pascalCase(api)}Url`;
}

/** Stack outputs when the stack made its own Cognito user pool (no `-c issuer`). */
export const USER_POOL_ID_OUTPUT = 'UserPoolId';
export const TOKEN_ENDPOINT_OUTPUT = 'TokenEndpoint';

/** The stack output holding a tier's app client id (stack's own user pool). */
export function clientIdOutputName(api: string, tier: string): string {
  return `${pascalCase(api)}${pascalCase(tier)}ClientId`;
}

/** What the smoke test needs of a stack that made its own Cognito user pool. */
export interface PoolOutputs {
  readonly stack: string;
  readonly userPoolId: string;
  /** The region of the pool (the part of its id before `_`). */
  readonly region: string;
  readonly tokenEndpoint: string;
  /** App client ids by API and tier. */
  readonly clients: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** `eu-west-1_AbCdEf` → `eu-west-1`; anything else is not a user pool id. */
export function userPoolRegion(userPoolId: string): string {
  const m = /^([a-z]{2}(?:-[a-z]+)+-\d+)_[A-Za-z0-9]+$/.exec(userPoolId);
  if (!m) throw new Error(`"${userPoolId}" is not a Cognito user pool id (REGION_ID)`);
  return m[1];
}

/**
 * The user pool outputs of a `cdk deploy --outputs-file` document (stack name → outputs), or
 * undefined when no stack made a pool (an external issuer). Every tier of the table must have
 * its client id output: a missing one means the outputs are not this table's stack.
 */
export function poolFromOutputs(table: RouteTable, doc: Readonly<Record<string, Readonly<Record<string, string>>>>): PoolOutputs | undefined {
  const withPool = Object.entries(doc).filter(([, o]) => o[USER_POOL_ID_OUTPUT] !== undefined || o[TOKEN_ENDPOINT_OUTPUT] !== undefined);
  if (withPool.length === 0) return undefined;
  if (withPool.length > 1) throw new Error(`the outputs hold several stacks with a user pool (${withPool.map(([n]) => n).join(', ')}); give one stack's`);
  const [stack, o] = withPool[0];
  const need = (key: string): string => {
    const v = o[key];
    if (!v) throw new Error(`stack ${stack}: output ${key} missing`);
    return v;
  };
  const userPoolId = need(USER_POOL_ID_OUTPUT);
  const clients: Record<string, Record<string, string>> = {};
  for (const api of table.apis) {
    clients[api.name] = {};
    // Only the tiers the pool issues tokens for have a client.
    for (const [tier] of poolTiers(api)) {
      clients[api.name][tier] = need(clientIdOutputName(api.name, tier));
    }
  }
  return { stack, userPoolId, region: userPoolRegion(userPoolId), tokenEndpoint: need(TOKEN_ENDPOINT_OUTPUT), clients };
}

/** One OAuth 2.0 client-credentials token request (RFC 6749 §4.4, client_secret_basic). */
export interface ClientCredentialsRequest {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated; unset: the IdP's default for the client (Cognito: every scope it is allowed). */
  readonly scope?: string;
  /** Further form parameters (e.g. `audience`). */
  readonly extraParams?: Iterable<[string, string]>;
  readonly timeoutMs: number;
}

/** A failed token request; `transient` when another try may succeed (unreachable, 5xx, 403/404). */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/** How long to keep trying a token endpoint that fails transiently, and how long to wait between tries. */
export interface RetryBound {
  readonly withinMs: number;
  readonly delayMs: number;
}

/**
 * A new Cognito domain (the stack's own user pool, just deployed) can fail to answer for up to a
 * minute: its first token requests are retried for this long.
 */
export const NEW_DOMAIN_RETRY: RetryBound = { withinMs: 120_000, delayMs: 5_000 };

/**
 * {@link fetchClientCredentialsToken}, tried again while it fails transiently and the bound allows
 * (each error says how many tries were made). A permanent error (a refused client) fails at once.
 */
export async function fetchTokenWithRetry(
  r: ClientCredentialsRequest,
  bound: RetryBound,
  fetchToken: (r: ClientCredentialsRequest) => Promise<string> = fetchClientCredentialsToken,
): Promise<string> {
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchToken(r);
    } catch (e) {
      const transient = e instanceof TokenRequestError && e.transient;
      if (!transient || Date.now() - start + bound.delayMs > bound.withinMs) {
        throw new Error(`${(e as Error).message}${transient ? ` (${attempt} tries within ${Math.round((Date.now() - start) / 1000)} s)` : ''}`);
      }
      await new Promise((ok) => setTimeout(ok, bound.delayMs));
    }
  }
}

/**
 * Fetches an access token. Errors name the HTTP status and the IdP's `error` code, never the
 * secret or a token.
 */
export async function fetchClientCredentialsToken(r: ClientCredentialsRequest): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (r.scope) form.set('scope', r.scope);
  for (const [k, v] of r.extraParams ?? []) form.set(k, v);
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(r.clientId)}:${encodeURIComponent(r.clientSecret)}`).toString('base64');
  let res: Response;
  try {
    res = await fetch(r.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
      body: form,
      redirect: 'error',
      signal: AbortSignal.timeout(r.timeoutMs),
    });
  } catch (e) {
    throw new TokenRequestError(`token endpoint ${r.tokenUrl} unreachable: ${(e as Error).message}`, true);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; token_type?: unknown; error?: unknown };
  if (!res.ok) {
    const code = typeof body.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
    // 5xx, and 404/403 from a domain still being set up: worth another try; 400/401 (a refused client, scope): not.
    throw new TokenRequestError(`token endpoint answered HTTP ${res.status}${code}`, res.status >= 500 || res.status === 404 || res.status === 403);
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') throw new Error('token endpoint answered without an access_token');
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw new Error(`token endpoint issued a ${body.token_type.slice(0, 20)} token, not a Bearer token`);
  }
  return body.access_token;
}

/** One request and the status it must get. */
export interface Check {
  readonly api: string;
  readonly route: string;
  readonly authorizer: RouteSpec['authorizer'];
  readonly method: string;
  readonly url: string;
  readonly caller: Caller;
  /** Bearer token to send, if any. */
  readonly token?: string;
  readonly expected: number;
}

/** A tier that could not be tested, and why. */
export interface Skip {
  readonly api: string;
  readonly what: string;
  readonly why: string;
}

export function describeCaller(c: Caller): string {
  return c.kind === 'none' ? 'no token' : c.kind === 'bad' ? 'bad token' : `${c.tier} token`;
}

/** Joins a base URL and a route path (exactly one `/` between them). */
export function joinUrl(base: string, routePath: string): string {
  return `${base.replace(/\/+$/, '')}/${routePath.replace(/^\/+/, '')}`;
}

/** Every check for the APIs that have a URL, and what had to be skipped. */
export function planChecks(
  table: RouteTable,
  urls: Readonly<Record<string, string>>,
  tokens: Readonly<Record<string, Readonly<Record<string, string>>>>,
  only?: readonly string[],
): { checks: Check[]; skips: Skip[] } {
  const checks: Check[] = [];
  const skips: Skip[] = [];
  for (const api of table.apis) {
    if (only && only.length > 0 && !only.includes(api.name)) continue;
    const base = urls[api.name];
    if (!base) {
      skips.push({ api: api.name, what: 'every route', why: `no URL (set ${urlVariable(api.name)} or pass --outputs)` });
      continue;
    }
    const apiTokens = tokens[api.name] ?? {};
    for (const tier of Object.keys(api.tiers)) {
      if (!apiTokens[tier]) {
        skips.push({
          api: api.name,
          what: `tier ${tier}`,
          why: `no token (set ${tokenVariable(api.name, tier)}, or ${clientVariables(api.name, tier).id}/_SECRET with SMOKE_TOKEN_URL)`,
        });
      }
    }
    for (const route of api.routes) checks.push(...routeChecks(api, route, base, apiTokens));
  }
  return { checks, skips };
}

function routeChecks(api: ApiSpec, route: RouteSpec, base: string, tokens: Readonly<Record<string, string>>): Check[] {
  const method = methodOf(route.route) === 'ANY' ? 'GET' : methodOf(route.route);
  const url = joinUrl(base, samplePath(route.route));
  const callers: { caller: Caller; token?: string }[] = [{ caller: { kind: 'none' } }, { caller: { kind: 'bad' }, token: BAD_TOKEN }];
  for (const tier of Object.keys(api.tiers)) {
    if (tokens[tier]) callers.push({ caller: { kind: 'tier', tier }, token: tokens[tier] });
  }
  return callers.map(({ caller, token }) => ({
    api: api.name,
    route: route.route,
    authorizer: route.authorizer,
    method,
    url,
    caller,
    token,
    expected: expectedStatus(api, route, caller),
  }));
}

/** Whether an answer is the expected one (200 stands for any 2xx: the backend's choice). */
export function statusMatches(expected: number, actual: number): boolean {
  return expected === 200 ? actual >= 200 && actual < 300 : actual === expected;
}
