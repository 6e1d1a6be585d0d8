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
