/**
 * The route table (`infra/routes.json`): loading, validation and everything derived from it.
 *
 * One file says, per API and route, which authorizer guards it, with its scopes and claim
 * rules. From it come the API Gateway routes/methods, each Lambda authorizer's `AUTHZ_ROUTES`
 * and the answers the smoke test expects. Pure functions, no CDK. (The identity sources come from
 * the authorizers' configuration as they read it: `authz-config.ts`.)
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { cedarPermits } from './cedar-decide';

/** The API Gateway flavours. */
export type ApiType = 'rest' | 'http';

/** Which authorizer guards a route. */
export type AuthorizerType = 'none' | 'token' | 'request' | 'http' | 'jwt';

/** Authorizer types each API type accepts. */
export const AUTHORIZERS_BY_API: Readonly<Record<ApiType, readonly AuthorizerType[]>> = {
  rest: ['none', 'token', 'request'],
  http: ['none', 'http', 'jwt'],
};

/** Lambda authorizer types (the ones backed by a Rust function). */
export type LambdaAuthorizerType = 'token' | 'request' | 'http';

/** The Rust binary (= Cargo package) behind each Lambda authorizer type. */
export const BINARY_BY_AUTHORIZER: Readonly<Record<LambdaAuthorizerType, string>> = {
  token: 'token-authorizer',
  request: 'request-authorizer',
  http: 'http-authorizer',
};

/**
 * Sender-constrained tokens on an API (`senderConstrained`, the authorizers'
 * `AUTHZ_SENDER_CONSTRAINED`): `off` (bearer tokens only), `accept` (bound tokens need their
 * DPoP proof or client certificate), `require` (every token bound).
 */
export type SenderConstrained = 'off' | 'accept' | 'require';

/** The default of `senderConstrained` (the schema's, the authorizers'). */
export const DEFAULT_SENDER_CONSTRAINED: SenderConstrained = 'off';

/** A claim rule value: the claim must equal it (or contain it, for an array claim). */
export type ClaimValue = string | number | boolean;

/** One route of an API. */
export interface RouteSpec {
  /** `METHOD /path` (API Gateway templates) or `$default`. */
  readonly route: string;
  readonly authorizer: AuthorizerType;
  /** Any one of these scopes is enough; empty: any valid token. */
  readonly scopes: readonly string[];
  /** Every claim must match. */
  readonly claims: Readonly<Record<string, ClaimValue>>;
  /** Decided by the API's Cedar policies too (`"cedar": true`). */
  readonly cedar: boolean;
  readonly description?: string;
}

/** A test caller: what its token carries. */
export interface TierSpec {
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>;
  /** Groups its token carries in the API's `cedar.groupsClaim` (also in `claims` under that name). */
  readonly groups: readonly string[];
  readonly description?: string;
}

/**
 * The files of an API's Cedar configuration: the key in routes.json's `cedar` object → the
 * setting naming the file in the authorizer. Bundling, the environment, the synth-time paths
 * and the validation all go through this list: one more (optional) file is one more line.
 */
export const CEDAR_FILES = {
  policies: 'AUTHZ_CEDAR_POLICIES',
  schema: 'AUTHZ_CEDAR_SCHEMA',
  templateLinks: 'AUTHZ_CEDAR_TEMPLATE_LINKS',
} as const satisfies Record<string, string>;

/** A key of {@link CEDAR_FILES}. */
export type CedarFileKey = keyof typeof CEDAR_FILES;

/** An API's Cedar configuration (routes.json `cedar`). */
export interface CedarSpec {
  /** Each file given, by key, as an absolute path (routes.json names it relative to its directory). */
  readonly files: Readonly<Partial<Record<CedarFileKey, string>>>;
  readonly namespace: string;
  readonly groupsClaim?: string;
  readonly entityPrefix: string;
}

/** One API of the table. */
export interface ApiSpec {
  /** The key in `apis` (lower-case, hyphenated). */
  readonly name: string;
  readonly type: ApiType;
  readonly description?: string;
  readonly audience: string;
  readonly cacheTtlSeconds: number;
  /** DPoP / certificate-bound tokens on its Lambda authorizers (`off` unless the table says). */
  readonly senderConstrained: SenderConstrained;
  readonly tiers: Readonly<Record<string, TierSpec>>;
  readonly routes: readonly RouteSpec[];
  /** The Cedar policies of its `"cedar": true` routes. */
  readonly cedar?: CedarSpec;
}

/** The validated table. */
export interface RouteTable {
  readonly apis: readonly ApiSpec[];
}

/** The default authorizer cache TTL (API Gateway's own default). */
export const DEFAULT_CACHE_TTL_SECONDS = 300;

/** Native JWT authorizer quota: scopes per route. */
export const JWT_MAX_SCOPES_PER_ROUTE = 10;

/** One problem of a route table: where (a JSON pointer into the table) and the line shown. */
export interface Problem {
  readonly pointer: string;
  readonly message: string;
}

/**
 * A route table that does not fit: the message lists every problem, each naming its place;
 * `pointers[i]` is the JSON pointer of `problems[i]`.
 */
export class RouteTableError extends Error {
  readonly problems: readonly string[];
  readonly pointers: readonly string[];
  constructor(
    readonly source: string,
    found: readonly (Problem | string)[],
  ) {
    const problems = found.map((p) => (typeof p === 'string' ? p : p.message));
    const pointers = found.map((p) => (typeof p === 'string' ? '' : p.pointer));
    super(`${source} is not a valid route table:\n  - ${problems.join('\n  - ')}`);
    this.name = 'RouteTableError';
    this.problems = problems;
    this.pointers = pointers;
  }
}

/** Where the table and its schema live (next to package.json). */
export const ROUTES_FILE = path.join(__dirname, '..', 'routes.json');
export const SCHEMA_FILE = path.join(__dirname, '..', 'routes.schema.json');

let compiled: ReturnType<Ajv['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv['compile']> {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
  }
  return compiled;
}

/** Reads and validates a route table file. */
export function loadRouteTable(file: string = ROUTES_FILE): RouteTable {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RouteTableError(file, [`cannot read it as JSON: ${(e as Error).message}`]);
  }
  return parseRouteTable(doc, path.basename(file), path.dirname(path.resolve(file)));
}

/**
 * Validates a parsed route table: the JSON Schema first, then the rules a schema cannot say.
 * `dir`: the directory the table's Cedar file paths are relative to (the table's own).
 */
export function parseRouteTable(doc: unknown, source = 'routes.json', dir: string = path.dirname(ROUTES_FILE)): RouteTable {
  const validate = schemaValidator();
  if (!validate(doc)) {
    throw new RouteTableError(source, formatSchemaErrors(doc, validate.errors ?? []));
  }
  const raw = doc as {
    apis: Record<
      string,
      {
        type: ApiType;
        description?: string;
        audience: string;
        cacheTtlSeconds?: number;
        senderConstrained?: SenderConstrained;
        tiers?: Record<string, { scopes?: string[]; claims?: Record<string, ClaimValue | ClaimValue[]>; groups?: string[]; description?: string }>;
        routes: { route: string; authorizer: AuthorizerType; scopes?: string[]; claims?: Record<string, ClaimValue>; cedar?: boolean; description?: string }[];
        cedar?: Partial<Record<CedarFileKey, string>> & { namespace: string; groupsClaim?: string; entityPrefix?: string };
      }
    >;
  };
  const problems: Problem[] = [];
  const apis: ApiSpec[] = [];
  for (const [name, api] of Object.entries(raw.apis)) {
    const senderConstrained = api.senderConstrained ?? DEFAULT_SENDER_CONSTRAINED;
    const seen = new Set<string>();
    const routes: RouteSpec[] = api.routes.map((r, i) => {
      const at = `apis.${name}.routes[${i}] ("${r.route}")`;
      const pointer = `/apis/${escapePointer(name)}/routes/${i}`;
      const problem = (message: string): void => {
        problems.push({ pointer, message });
      };
      const scopes = r.scopes ?? [];
      const claims = r.claims ?? {};
      if (seen.has(r.route)) problem(`${at}: route listed twice`);
      seen.add(r.route);
      if (r.route === '$default' && api.type === 'rest') {
        problem(`${at}: $default exists only on HTTP APIs; a REST API uses ANY /{proxy+}`);
      }
      const greedy = r.route.indexOf('+}');
      if (greedy >= 0 && greedy !== r.route.length - 2) {
        problem(`${at}: a greedy {param+} must be the last path segment`);
      }
      const params = [...r.route.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((m) => m[1]);
      if (new Set(params).size !== params.length) problem(`${at}: a path parameter name is used twice`);
      if (r.authorizer === 'none' && (scopes.length > 0 || Object.keys(claims).length > 0)) {
        problem(`${at}: authorizer "none" cannot have scopes or claims (nothing would check them)`);
      }
      if (r.authorizer === 'jwt' && Object.keys(claims).length > 0) {
        problem(
          `${at}: the native JWT authorizer checks scopes only, not claims; use authorizer "http" for claim rules`,
        );
      }
      if (r.authorizer === 'jwt' && scopes.length > JWT_MAX_SCOPES_PER_ROUTE) {
        problem(`${at}: the native JWT authorizer allows at most ${JWT_MAX_SCOPES_PER_ROUTE} scopes per route`);
      }
      if (r.authorizer === 'jwt' && senderConstrained !== 'off') {
        problem(
          `${at}: the native JWT authorizer cannot check DPoP proofs or client certificates (senderConstrained "${senderConstrained}" on the API); use authorizer "http"`,
        );
      }
      const cedar = r.cedar === true;
      if (cedar) for (const p of cedarRouteProblems(r.route, r.authorizer, api.cedar !== undefined)) problem(`${at}: ${p}`);
      return { route: r.route, authorizer: r.authorizer, scopes, claims, cedar, description: r.description };
    });
    if (api.type === 'rest') {
      // API Gateway REST resources: one template name per position among siblings.
      const byParent = new Map<string, string>();
      for (const r of routes) {
        const segs = pathOf(r.route).split('/').filter(Boolean);
        segs.forEach((seg, i) => {
          if (!seg.startsWith('{')) return;
          const parent = '/' + segs.slice(0, i).join('/');
          const other = byParent.get(parent);
          if (other !== undefined && other !== seg) {
            problems.push({
              pointer: `/apis/${escapePointer(name)}/routes`,
              message: `apis.${name}: REST resources under "${parent}" use two different path parameters (${other}, ${seg}); API Gateway allows one`,
            });
          }
          byParent.set(parent, seg);
        });
      }
    }
    const tiers: Record<string, TierSpec> = {};
    for (const [tier, t] of Object.entries(api.tiers ?? {})) {
      const groups = t.groups ?? [];
      if (groups.length > 0 && api.cedar?.groupsClaim === undefined) {
        problems.push({
          pointer: `/apis/${escapePointer(name)}/tiers/${escapePointer(tier)}/groups`,
          message: `apis.${name}.tiers.${tier}: groups need the API's cedar.groupsClaim (the claim that carries them)`,
        });
      }
      // The token carries the groups in the groups claim (authz-local's tiers alike).
      const groupsClaim = api.cedar?.groupsClaim;
      const claims = groups.length > 0 && groupsClaim !== undefined ? { ...(t.claims ?? {}), [groupsClaim]: [...groups] } : (t.claims ?? {});
      tiers[tier] = { scopes: t.scopes ?? [], claims, groups, description: t.description };
    }
    apis.push({
      name,
      type: api.type,
      description: api.description,
      audience: api.audience,
      cacheTtlSeconds: api.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS,
      senderConstrained,
      tiers,
      routes,
      ...(api.cedar ? { cedar: cedarSpec(api.cedar, dir) } : {}),
    });
  }
  if (problems.length > 0) throw new RouteTableError(source, problems);
  return { apis };
}

/**
 * What is wrong with a route marked `"cedar": true` beyond the schema (authz-local's
 * `cedar_route_problems`, the same words).
 */
function cedarRouteProblems(route: string, authorizer: AuthorizerType, apiHasCedar: boolean): string[] {
  const out: string[] = [];
  if (!apiHasCedar) out.push('"cedar": true needs the API\'s "cedar" (its policies, schema and namespace)');
  if (authorizer === 'none' || authorizer === 'jwt') {
    out.push(`"cedar": true needs a Lambda authorizer (token, request or http), not "${authorizer}"`);
  }
  if (route === '$default' || methodOf(route) === 'ANY') {
    out.push('a Cedar-decided route names one method and path (not ANY or $default: its Cedar action is "<method> <path>")');
  }
  return out;
}

/** The Cedar configuration with its files resolved against the table's directory. */
function cedarSpec(raw: Partial<Record<CedarFileKey, string>> & { namespace: string; groupsClaim?: string; entityPrefix?: string }, dir: string): CedarSpec {
  const files: Partial<Record<CedarFileKey, string>> = {};
  for (const key of Object.keys(CEDAR_FILES) as CedarFileKey[]) {
    const file = raw[key];
    if (file !== undefined) files[key] = path.resolve(dir, file);
  }
  return { files, namespace: raw.namespace, groupsClaim: raw.groupsClaim, entityPrefix: raw.entityPrefix ?? '' };
}

/**
 * What a table may mean by mistake, though synth accepts it (authz-local's `table::warnings`, the
 * same lines): a route scope that no tier of its API carries (a typo such as `silvr` would lock
 * every caller out), with the scopes the tiers carry. APIs without tiers say nothing.
 */
export function routeTableWarnings(table: RouteTable): string[] {
  const out: string[] = [];
  for (const api of table.apis) {
    if (Object.keys(api.tiers).length === 0) continue;
    const known = [...new Set(Object.values(api.tiers).flatMap((t) => t.scopes))].sort();
    api.routes.forEach((r, i) => {
      for (const scope of r.scopes.filter((s) => !known.includes(s))) {
        out.push(`apis.${api.name}.routes[${i}] ("${r.route}"): scope "${scope}" is carried by no tier of the API (they carry ${known.join(', ')})`);
      }
    });
  }
  return out;
}

/** Every authorizer type (the route schema's enum). */
const ALL_AUTHORIZERS: readonly string[] = ['none', 'token', 'request', 'http', 'jwt'];

/** What the route pattern says, in words. */
const ROUTE_SHAPE =
  '"METHOD /path" (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY; {param} and a final {param+} templates) or "$default"';

let schemaProperties: string[] | undefined;
/** Every property name the schema defines anywhere (for "did you mean"), sorted. */
function knownProperties(): string[] {
  if (!schemaProperties) {
    const out = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === 'object' && node !== null) {
        const props = (node as { properties?: unknown }).properties;
        if (typeof props === 'object' && props !== null && !Array.isArray(props)) Object.keys(props).forEach((k) => out.add(k));
        Object.values(node).forEach(walk);
      }
    };
    walk(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
    schemaProperties = [...out].sort();
  }
  return schemaProperties;
}

/**
 * ajv's errors → one problem each, naming the place, with its JSON pointer. authz-local's Rust
 * loader (`crates/authz-local/src/table/schema.rs`, the `jsonschema` crate) formats the friendly
 * messages alike and reports the same pointers; `tests/golden/invalid-route-tables.json` holds
 * cases both sides assert.
 */
function formatSchemaErrors(doc: unknown, errors: readonly ErrorObject[]): Problem[] {
  const out: Problem[] = [];
  const push = (pointer: string, message: string): void => {
    if (!out.some((p) => p.pointer === pointer && p.message === message)) out.push({ pointer, message });
  };
  for (const e of errors) {
    // `if` only says "must match then"; the error inside `then` says what is wrong.
    if (e.keyword === 'if') continue;
    // Inside `anyOf`: the `anyOf` error itself names the value.
    if (e.schemaPath.includes('/anyOf/')) continue;
    // An error inside `propertyNames`: the `propertyNames` error below names the property.
    if ((e as { propertyName?: string }).propertyName !== undefined) continue;
    const at = e.instancePath;
    const where = pointerToPath(at) || '(top level)';
    const route = /^\/apis\/([^/]+)\/routes\/(\d+)\/authorizer$/.exec(at);
    if (route && e.keyword === 'enum') {
      push(at, authorizerProblem(doc, decodePointer(route[1]), Number(route[2])));
      continue;
    }
    let msg = e.message ?? e.keyword;
    let pointer = at;
    if (e.keyword === 'additionalProperties') {
      const name = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${at}/${escapePointer(name)}`;
      msg = unknownProperty(name, knownProperties());
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: string[] }).allowedValues.join(', ');
      msg = `${JSON.stringify(valueAt(doc, at))} is not one of ${allowed}`;
    } else if (e.keyword === 'propertyNames') {
      const name = (e.params as { propertyName: string }).propertyName;
      pointer = `${at}/${escapePointer(name)}`;
      msg = propertyNameMessage(e, errors);
    } else if (e.keyword === 'pattern' && at.endsWith('/route')) {
      msg = `${JSON.stringify(valueAt(doc, at))} is not ${ROUTE_SHAPE}`;
    }
    push(pointer, `${where}: ${msg}`);
  }
  return out;
}

/** An authorizer value the API cannot use: not a type at all, or not one of its API type's. */
function authorizerProblem(doc: unknown, api: string, index: number): string {
  const apiDoc = (doc as { apis: Record<string, { type?: unknown; routes: { route?: unknown; authorizer?: unknown }[] }> }).apis[api];
  const r = apiDoc.routes[index];
  const routeKey = typeof r.route === 'string' ? r.route : JSON.stringify(r.route);
  const known = apiDoc.type === 'rest' || apiDoc.type === 'http';
  const apiName = known ? `a ${apiDoc.type as string} API` : 'any API';
  const allowed = (known ? AUTHORIZERS_BY_API[apiDoc.type as ApiType] : ALL_AUTHORIZERS).join(', ');
  const at = `apis.${api}.routes[${index}] ("${routeKey}")`;
  if (typeof r.authorizer === 'string' && ALL_AUTHORIZERS.includes(r.authorizer)) {
    return `${at}: authorizer "${r.authorizer}" does not fit ${apiName}; use one of ${allowed}`;
  }
  return `${at}: authorizer ${JSON.stringify(r.authorizer)} is not an authorizer type; ${apiName} takes one of ${allowed}`;
}

/** `unknown property "x"`, with the closest name the schema knows when one is close (schema.rs `unknown_property`). */
export function unknownProperty(name: string, known: readonly string[]): string {
  const s = didYouMean(name, known);
  return s === undefined ? `unknown property "${name}"` : `unknown property "${name}"; did you mean "${s}"?`;
}

/** The known name at the smallest edit distance, at most a third of the name's length (at least 1), the first among equals. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  let best: [number, string] | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d <= Math.max(1, Math.floor([...name].length / 3)) && (best === undefined || d < best[0])) best = [d, k];
  }
  return best?.[1];
}

function editDistance(a: string, b: string): number {
  const bs = [...b];
  let prev = Array.from({ length: bs.length + 1 }, (_, j) => j);
  [...a].forEach((ca, i) => {
    const cur = [i + 1];
    bs.forEach((cb, j) => cur.push(Math.min(prev[j] + (ca === cb ? 0 : 1), prev[j + 1] + 1, cur[j] + 1)));
    prev = cur;
  });
  return prev[bs.length];
}

/** What is wrong with a property name: API and tier names in words, others by the inner errors. */
function propertyNameMessage(e: ErrorObject, errors: readonly ErrorObject[]): string {
  const name = (e.params as { propertyName: string }).propertyName;
  const place = e.instancePath.slice(e.instancePath.lastIndexOf('/') + 1);
  if (place === 'apis') return `name "${name}" is not lower-case words joined by "-" (at most 20 characters)`;
  if (place === 'tiers') return `name "${name}" is not lower-case words joined by "-"`;
  const inner = errors
    .filter((x) => (x as { propertyName?: string }).propertyName === name && x.instancePath === e.instancePath)
    .map((x) => x.message ?? x.keyword);
  return `name "${name}": ${[...new Set(inner)].join('; ')}`;
}

/** The value at a JSON pointer. */
function valueAt(doc: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .map(decodePointer)
    .reduce<unknown>((node, seg) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[seg] : undefined), doc);
}

function escapePointer(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}

function decodePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map(decodePointer)
    .map((seg, i) => (/^\d+$/.test(seg) ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('');
}

/** The method of a route key (`$default` → `ANY`). */
export function methodOf(route: string): string {
  return route === '$default' ? 'ANY' : route.split(' ')[0];
}

/** The path of a route key (`$default` → `/`). */
export function pathOf(route: string): string {
  return route === '$default' ? '/' : route.slice(route.indexOf(' ') + 1);
}

/** The API of the table with this name, or an error naming the ones there are. */
export function apiNamed(table: RouteTable, name: string): ApiSpec {
  const api = table.apis.find((a) => a.name === name);
  if (!api) throw new Error(`no API "${name}" in the route table (there are: ${table.apis.map((a) => a.name).join(', ')})`);
  return api;
}

/** The routes one authorizer type guards on one API. */
export function routesGuardedBy(api: ApiSpec, type: AuthorizerType): RouteSpec[] {
  return api.routes.filter((r) => r.authorizer === type);
}

/** Lambda authorizer types used by an API, in a stable order. */
export function lambdaAuthorizersOf(api: ApiSpec): LambdaAuthorizerType[] {
  return (['token', 'request', 'http'] as const).filter((t) => api.routes.some((r) => r.authorizer === t));
}

/**
 * The `AUTHZ_ROUTES` value for the Lambda authorizer of `type` on `api`: exactly the routes it
 * guards, in the shape authz-core reads (`{"route","scopes","claims"}`, empty fields left out).
 * With rules set, an unlisted route is denied: the authorizer cannot be used for routes the
 * table does not give it.
 */
export function authzRoutesFor(api: ApiSpec, type: LambdaAuthorizerType): string {
  const rules = routesGuardedBy(api, type).map((r) => {
    const rule: { route: string; scopes?: string[]; claims?: Record<string, ClaimValue>; cedar?: true } = { route: r.route };
    if (r.scopes.length > 0) rule.scopes = [...r.scopes];
    if (Object.keys(r.claims).length > 0) rule.claims = { ...r.claims };
    if (r.cedar) rule.cedar = true;
    return rule;
  });
  return JSON.stringify(rules);
}

/** Whether the routes guarded by `type` carry different rules (so a cached answer for one
 * route must not be reused for another). */
export function rulesDifferPerRoute(api: ApiSpec, type: AuthorizerType): boolean {
  const keys = new Set(
    // A Cedar-decided rule decides its own action: it differs from every other route's.
    routesGuardedBy(api, type).map((r) => JSON.stringify([[...r.scopes].sort(), Object.entries(r.claims).sort(), r.cedar ? r.route : null])),
  );
  return keys.size > 1;
}

/**
 * The tiers the stack's own pool issues tokens for: those without `groups`. A client-credentials
 * token from Cognito carries no groups, so a tier with groups (a Cedar caller, such as PetStore's
 * `editor`) is a local-mode and external-issuer tier: the pool makes no app client for it, and
 * the smoke test skips it for want of a token.
 */
export function poolTiers(api: ApiSpec): [string, TierSpec][] {
  return Object.entries(api.tiers).filter(([, t]) => t.groups.length === 0);
}

/** The smoke test's callers. */
export type Caller = { readonly kind: 'none' } | { readonly kind: 'bad' } | { readonly kind: 'tier'; readonly tier: string };

/** Whether a tier's token satisfies a route's rule (scopes any-of, claims all-of). */
export function tierSatisfies(tier: TierSpec, route: RouteSpec): boolean {
  if (route.scopes.length > 0 && !route.scopes.some((s) => tier.scopes.includes(s))) return false;
  return Object.entries(route.claims).every(([name, want]) => {
    const have = tier.claims[name];
    return Array.isArray(have) ? have.includes(want) : have === want;
  });
}

/**
 * The status API Gateway answers for `caller` on `route`, per the semantics table in the
 * README: REST Lambda authorizers 401 for a missing/invalid token and 403 when not permitted;
 * the HTTP Lambda authorizer (simple responses) 401 only when the header is absent, 403 for a
 * bad token or no permission; the native JWT authorizer 401 / 403; unprotected routes 200. A
 * Cedar-decided route also needs the API's policies to permit the tier (lib/cedar-decide.ts). A
 * tier's token is a bearer token: on an API with `senderConstrained` `require` it is refused as a
 * bad one is (`sender_constraint_required`).
 */
export function expectedStatus(api: ApiSpec, route: RouteSpec, caller: Caller): number {
  const OK = 200;
  if (route.authorizer === 'none') return OK;
  if (caller.kind === 'none') return 401;
  if (caller.kind === 'bad') return route.authorizer === 'http' ? 403 : 401;
  const tier = api.tiers[caller.tier];
  if (!tier) throw new Error(`no tier "${caller.tier}" in API "${api.name}"`);
  if (api.senderConstrained === 'require') return route.authorizer === 'http' ? 403 : 401;
  // A Cedar-decided route: its scopes and claims first, then the API's Cedar policies.
  return tierSatisfies(tier, route) && (!route.cedar || cedarPermits(api, route, tier)) ? OK : 403;
}

/** A concrete request path for a route key: templates filled with sample values. */
export function samplePath(route: string): string {
  if (route === '$default') return '/smoke/default-route';
  return pathOf(route)
    .replace(/\{[A-Za-z0-9_]+\+\}/g, 'a/b')
    .replace(/\{[A-Za-z0-9_]+\}/g, '1');
}

/** Lower-case hyphenated name → PascalCase construct id (`pet-store` → `PetStore`). */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

/** A REST rule set that API Gateway's cache would reuse wrongly: the reason, naming the rules. */
type Tok = { readonly lit: string } | 'one' | 'many';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

function segmentsOf(route: string): string[] {
  return pathOf(route).split('/').filter(Boolean);
}

function isTemplate(seg: string): boolean {
  return seg.startsWith('{');
}

function literalOnly(route: string): boolean {
  return route !== '$default' && !segmentsOf(route).some(isTemplate);
}

/** The IAM resource of a rule as a path language (`{param}` and `{proxy+}` as `*`: one or more segments). */
function patternOf(route: string): Tok[] {
  if (route === '$default') return ['many'];
  return segmentsOf(route).flatMap((s): Tok[] => (isTemplate(s) ? ['one', 'many'] : [{ lit: s }]));
}

/** The paths a rule matches (`{param}` exactly one segment). */
function structureOf(route: string): Tok[] {
  if (route === '$default') return ['many'];
  return segmentsOf(route).flatMap((s): Tok[] => (s.endsWith('+}') ? ['one', 'many'] : isTemplate(s) ? ['one'] : [{ lit: s }]));
}

/**
 * The rule's resource with one `{param}`'s `*` spanning two segments or more, per `{param}`
 * (authz-core `Rule::deeper`). Not for a `{param}` followed only by `{param}`s and a final
 * greedy `{name+}`: the greedy one takes whatever extra segments its `*` takes, so the rule
 * matches every path the pattern does there.
 */
function deeperOf(route: string): Tok[][] {
  if (route === '$default') return [];
  const segs = segmentsOf(route);
  const out: Tok[][] = [];
  segs.forEach((seg, k) => {
    if (!isTemplate(seg) || seg.endsWith('+}')) return;
    const rest = segs.slice(k + 1);
    if (rest.length > 0 && rest[rest.length - 1].endsWith('+}') && rest.every(isTemplate)) return;
    out.push(segs.flatMap((s, i): Tok[] => (i === k ? ['one', 'one', 'many'] : isTemplate(s) ? ['one', 'many'] : [{ lit: s }])));
  });
  return out;
}

function intersects(a: Tok[], b: Tok[]): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let v: boolean;
    if (i === a.length && j === b.length) v = true;
    else if (a[i] === 'many') v = go(i + 1, j) || (j < b.length && go(i, j + 1));
    else if (b[j] === 'many') v = go(i, j + 1) || (i < a.length && go(i + 1, j));
    else if (i === a.length || j === b.length) v = false;
    else {
      const x = a[i];
      const y = b[j];
      const fits = typeof x === 'object' && typeof y === 'object' ? x.lit === y.lit : true;
      v = fits && go(i + 1, j + 1);
    }
    memo.set(key, v);
    return v;
  };
  return go(0, 0);
}

/** The methods a rule decides in its IAM resources (authz-core `Rules::methods_of`). */
function methodsOf(route: string, all: readonly string[]): string[] {
  if (route === '$default') return ['*'];
  const method = methodOf(route);
  if (method !== 'ANY') return [method];
  const p = pathOf(route);
  return METHODS.filter((m) => !all.some((r) => r !== '$default' && methodOf(r) === m && pathOf(r) === p));
}

/**
 * Why one cached REST policy cannot decide these routes exactly (authz-core
 * `Rules::rest_cache_conflict`, same rule and message): API Gateway reuses a REST authorizer's
 * policy for every method ARN of the stage, and IAM's `*` matches across `/`.
 */
export function restCacheConflict(routes: readonly string[]): string | undefined {
  for (let i = 0; i < routes.length; i++) {
    if (routes.slice(0, i).includes(routes[i])) return `route \`${routes[i]}\` is listed twice`;
  }
  for (const rule of routes) {
    if (literalOnly(rule)) continue;
    const mine = methodsOf(rule, routes);
    const pattern = patternOf(rule);
    const deeper = deeperOf(rule);
    // The Deny on deeper paths must not cover a path the rule matches itself (a literal after
    // the `{param}` recurring in a greedy tail): IAM's `*` and `?` cannot state it without them.
    const own = structureOf(rule);
    if (deeper.some((d) => intersects(d, own))) {
      return (
        `rule \`${rule}\` cannot be cached as one REST policy: IAM's \`*\` for its \`{param}\` ` +
        'also matches deeper paths, and a Deny on those would also match paths of ' +
        `\`${rule}\` itself (a literal after the \`{param}\` can recur in the greedy tail), ` +
        'so the cached policy would deny requests the rule allows; use an HTTP API ' +
        '(its cache is per route) or spell the `{param}` out as literal routes'
      );
    }
    for (const other of routes) {
      if (other === rule) continue;
      const theirs = methodsOf(other, routes);
      if (!mine.some((m) => m === '*' || theirs.some((t) => t === m || t === '*'))) continue;
      const structure = structureOf(other);
      const overlaps = !literalOnly(other) && intersects(pattern, structure);
      if (overlaps || deeper.some((d) => intersects(d, structure))) {
        return (
          `rules \`${rule}\` and \`${other}\` cannot share one cached REST policy: IAM's \`*\` in ` +
          `the resource of \`${rule}\` also matches paths of \`${other}\` (a \`*\` matches across ` +
          '`/`), so a policy cached for one route would decide the other one differently; give ' +
          'them separate authorizers, turn caching off, or spell the templated routes out as literal ones'
        );
      }
    }
  }
  return undefined;
}
