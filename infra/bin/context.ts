/**
 * CDK context → typed configuration. With `bin/app.ts`, the only code that reads context or
 * the environment; `lib/` gets the typed result.
 *
 * Every key can be given with `cdk synth|deploy -c key=value` or in cdk.json / cdk.context.json.
 * Values from the command line are strings; from JSON files they may be numbers, booleans,
 * arrays or objects. Both are accepted.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ContextProvider } from 'aws-cdk-lib/cloud-assembly-schema';
import { type ArchitectureName, type AuthzStackConfig, type CustomDomainSettings, DEFAULTS, type Throttle, type UsagePlanSettings, type VpcPlacement } from '../lib/config';
import { type RouteTable, loadRouteTable } from '../lib/route-table';
import { DEFAULT_MANUAL_STAGE, stageNameForBranch, stageNameProblem } from '../lib/stage-name';

export const DEFAULT_APP_NAME = 'ApiAuthz';
export const DEFAULT_STAGE = DEFAULT_MANUAL_STAGE;

/** Context keys the app reads (documented in infra/README.md). */
export const CONTEXT_KEYS = [
  'stage',
  'appName',
  'issuer',
  'caBundle',
  'audiences',
  'algorithms',
  'contextClaims',
  'jwksUri',
  'introspectionSecretArn',
  'tokenQueryParam',
  'authzEnvironment',
  'architecture',
  'memorySizeMb',
  'timeoutSeconds',
  'logRetentionDays',
  'vpcId',
  'subnetIds',
  'availabilityZones',
  'securityGroupIds',
  'alarmTopicArn',
  'webAclArn',
  'retainLogs',
  'createApiGatewayCloudWatchRole',
  'restStageVariables',
  'routesFile',
  'sourceBranch',
  'throttleRateLimit',
  'throttleBurstLimit',
  'routeThrottles',
  'reservedConcurrency',
  'tracing',
  'usagePlanClaim',
  'usagePlanQuotaPerDay',
  'corsOrigin',
  'domainName',
  'certificateArn',
  'mtlsTruststoreUri',
  'mtlsTruststoreVersion',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Context keys bin/app.ts reads itself, before the configuration: `-c bundling=false`. */
export const APP_SWITCH_KEYS = ['bundling'] as const;

/** Every context key of the app: a key outside these (and CDK's own) is refused. */
export const KNOWN_CONTEXT_KEYS: readonly string[] = [...CONTEXT_KEYS, ...APP_SWITCH_KEYS];

/** The prefixes of the CDK's lookup cache keys (cdk.context.json): `availability-zones:account=…`. */
const LOOKUP_PROVIDERS: readonly string[] = Object.values(ContextProvider);

/**
 * Context the CDK itself owns: feature flags (`@aws-cdk/…`, cdk.json), the CLI's and the App's
 * settings (`aws:cdk:…`, `aws-cdk:…`), the lookup cache of cdk.context.json
 * (`<provider>:<query>`, e.g. `availability-zones:account=…:region=…`, `hosted-zone:…`) and the
 * notices the CLI was told to stop showing (`acknowledged-issue-numbers`).
 */
export function isCdkContextKey(key: string): boolean {
  if (key.startsWith('@aws-cdk') || key.startsWith('aws:cdk:') || key.startsWith('aws-cdk:')) return true;
  if (key === 'acknowledged-issue-numbers') return true;
  const colon = key.indexOf(':');
  return colon > 0 && LOOKUP_PROVIDERS.includes(key.slice(0, colon));
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 0; i < a.length; i++) {
    const next = [i + 1];
    for (let j = 0; j < b.length; j++) next.push(Math.min(row[j + 1] + 1, next[j] + 1, row[j] + (a[i] === b[j] ? 0 : 1)));
    row = next;
  }
  return row[b.length];
}

/**
 * The known key closest to `key`, as the authorizers pick one for an unknown `AUTHZ_*` variable
 * (authz-core `config::env::closest`): case-insensitively, a key that begins the other counts as
 * nearest, then the smaller edit distance; ties go to the smaller distance as written.
 */
export function closestContextKey(key: string): string {
  const lower = key.toLowerCase();
  let best = KNOWN_CONTEXT_KEYS[0];
  let bestRank: [number, number] = [Infinity, Infinity];
  for (const known of KNOWN_CONTEXT_KEYS) {
    const k = known.toLowerCase();
    const near = k.startsWith(lower) || lower.startsWith(k) ? 0 : editDistance(lower, k);
    const rank: [number, number] = [near, editDistance(key, known)];
    if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
      best = known;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * Refuses context keys the app does not know (from `-c`, cdk.json, cdk.context.json or
 * CDK_CONTEXT_JSON alike: `keys` is the whole merged context), CDK's own excepted: a misspelt
 * key would otherwise be ignored (`-c isuer=…` would deploy the stage's own Cognito pool).
 */
export function checkContextKeys(keys: Iterable<string>): void {
  const unknown = [...new Set(keys)]
    .filter((k) => !KNOWN_CONTEXT_KEYS.includes(k) && !isCdkContextKey(k))
    .sort()
    .map((k) => `${k.length > 64 ? `${k.slice(0, 64)}…` : k} (did you mean ${closestContextKey(k)}?)`);
  if (unknown.length > 0) {
    throw new ContextError(
      `unknown context key ${unknown.join(', ')}: every key must be a setting of infra/README.md's Configuration table; a misspelt one would be ignored`,
    );
  }
}

/** Reads one context value (`node.tryGetContext`). */
export type ContextLookup = (key: ContextKey) => unknown;

export class ContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContextError';
  }
}

function str(get: ContextLookup, key: ContextKey): string | undefined {
  const v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ContextError(`context ${key}: expected a string`);
}

function list(get: ContextLookup, key: ContextKey): string[] | undefined {
  const v = get(key);
  if (Array.isArray(v)) return v.map(String);
  const s = str(get, key);
  if (s === undefined) return undefined;
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function int(get: ContextLookup, key: ContextKey): number | undefined {
  const s = str(get, key);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new ContextError(`context ${key}: "${s}" is not a whole number`);
  return Number(s);
}

function bool(get: ContextLookup, key: ContextKey): boolean | undefined {
  const s = str(get, key);
  if (s === undefined) return undefined;
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new ContextError(`context ${key}: "${s}" is not true or false`);
}

/** `{"a":"b"}` (JSON, from a file or the command line) or `a=b,c=d`. */
function map(get: ContextLookup, key: ContextKey): Record<string, string> | undefined {
  let v = get(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      v = JSON.parse(v);
    } catch (e) {
      throw new ContextError(`context ${key}: invalid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
        throw new ContextError(`context ${key}.${k}: expected a string`);
      }
      out[k] = String(x);
    }
    return out;
  }
  if (typeof v !== 'string') throw new ContextError(`context ${key}: expected a JSON object or name=value pairs`);
  const out: Record<string, string> = {};
  for (const pair of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ContextError(`context ${key}: "${pair}" is not name=value`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

/**
 * `-c caBundle=FILE`: the absolute path of a readable PEM file holding at least one certificate
 * (the file is copied into every authorizer's asset; a wrong path fails here, not at cold start).
 */
function checkedCaBundle(file: string): string {
  const abs = path.resolve(file);
  let pem: string;
  try {
    pem = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ContextError(`context caBundle "${file}": cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
    throw new ContextError(`context caBundle "${file}": no PEM certificate (-----BEGIN CERTIFICATE-----) in it`);
  }
  return abs;
}

/** `routeThrottles`: `{"GET /pets": "10:20"}` or `GET /pets=10:20,...` (rate:burst per route). */
function routeThrottles(get: ContextLookup): Record<string, Throttle> | undefined {
  const m = map(get, 'routeThrottles');
  if (m === undefined) return undefined;
  const out: Record<string, Throttle> = {};
  for (const [route, v] of Object.entries(m)) {
    const match = /^(\d+):(\d+)$/.exec(v.trim());
    if (!match) throw new ContextError(`context routeThrottles."${route}": "${v}" is not RATE:BURST (whole numbers)`);
    out[route] = { rateLimit: Number(match[1]), burstLimit: Number(match[2]) };
  }
  return out;
}

function usagePlan(get: ContextLookup): UsagePlanSettings | undefined {
  const claim = str(get, 'usagePlanClaim');
  const quota = int(get, 'usagePlanQuotaPerDay');
  if (claim === undefined) {
    if (quota !== undefined) throw new ContextError('context usagePlanQuotaPerDay needs usagePlanClaim (the claim that names the API key)');
    return undefined;
  }
  return { claim, quotaPerDay: quota ?? DEFAULTS.usagePlanQuotaPerDay };
}

function customDomain(get: ContextLookup): CustomDomainSettings | undefined {
  const domainName = str(get, 'domainName');
  const certificateArn = str(get, 'certificateArn');
  const truststoreUri = str(get, 'mtlsTruststoreUri');
  const truststoreVersion = str(get, 'mtlsTruststoreVersion');
  if (truststoreVersion !== undefined && truststoreUri === undefined) {
    throw new ContextError('context mtlsTruststoreVersion needs mtlsTruststoreUri (the version of that S3 object)');
  }
  if (domainName === undefined && certificateArn === undefined) {
    if (truststoreUri !== undefined) {
      throw new ContextError('context mtlsTruststoreUri needs domainName and certificateArn: API Gateway does mutual TLS on a custom domain only');
    }
    return undefined;
  }
  if (domainName === undefined || certificateArn === undefined) {
    throw new ContextError('context domainName and certificateArn go together (the ACM certificate of that domain, in the stack\'s region)');
  }
  return {
    domainName,
    certificateArn,
    ...(truststoreUri !== undefined ? { mutualTls: { truststoreUri, ...(truststoreVersion !== undefined ? { truststoreVersion } : {}) } } : {}),
  };
}

/** Everything `bin/app.ts` needs besides the route table. */
export interface AppSettings {
  readonly config: AuthzStackConfig;
  readonly stackName: string;
}

/**
 * Builds the stack configuration from context. `routeTable` may be given (tests); otherwise
 * the file named by `routesFile` (default infra/routes.json) is loaded and validated.
 */
export function configFromContext(
  get: ContextLookup,
  opts: { readonly workspaceRoot: string; readonly routeTable?: RouteTable },
): AuthzStackConfig {
  const stage = str(get, 'stage') ?? DEFAULT_STAGE;
  const problem = stageNameProblem(stage);
  if (problem !== undefined) {
    throw new ContextError(
      `context stage "${stage}": ${problem}. For a branch name use its sanitized form: ${stageNameForBranch(stage)} ` +
        '(npx tsx bin/stage-name.ts <branch>)',
    );
  }
  // No issuer: the stack brings its own Cognito user pool (infra/README.md, "Deploying without an IdP").
  const issuer = str(get, 'issuer');
  const caBundleFile = str(get, 'caBundle');
  const caBundle = caBundleFile === undefined ? undefined : checkedCaBundle(caBundleFile);
  const architecture = (str(get, 'architecture') ?? DEFAULTS.architecture) as ArchitectureName;
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    throw new ContextError(`context architecture "${architecture}": arm64 or x86_64`);
  }
  const vpcId = str(get, 'vpcId');
  let vpc: VpcPlacement | undefined;
  if (vpcId) {
    const subnetIds = list(get, 'subnetIds') ?? [];
    const availabilityZones = list(get, 'availabilityZones') ?? [];
    const securityGroupIds = list(get, 'securityGroupIds') ?? [];
    if (subnetIds.length === 0 || securityGroupIds.length === 0 || availabilityZones.length === 0) {
      throw new ContextError('context vpcId needs subnetIds, availabilityZones and securityGroupIds (comma-separated)');
    }
    vpc = { vpcId, subnetIds, availabilityZones, securityGroupIds };
  } else if (get('subnetIds') !== undefined || get('securityGroupIds') !== undefined) {
    throw new ContextError('context subnetIds/securityGroupIds need vpcId');
  }
  const routesFile = str(get, 'routesFile');
  const routeTable =
    opts.routeTable ?? loadRouteTable(routesFile ? path.resolve(routesFile) : undefined);
  return {
    appName: str(get, 'appName') ?? DEFAULT_APP_NAME,
    stage,
    routeTable,
    workspaceRoot: opts.workspaceRoot,
    authorizers: {
      issuer,
      caBundle,
      audienceOverrides: map(get, 'audiences'),
      algorithms: list(get, 'algorithms'),
      contextClaims: list(get, 'contextClaims'),
      jwksUri: str(get, 'jwksUri'),
      introspectionSecretArn: str(get, 'introspectionSecretArn'),
      tokenQueryParam: str(get, 'tokenQueryParam'),
      extraEnvironment: map(get, 'authzEnvironment'),
      architecture,
      memorySizeMb: int(get, 'memorySizeMb') ?? DEFAULTS.memorySizeMb,
      timeoutSeconds: int(get, 'timeoutSeconds') ?? DEFAULTS.timeoutSeconds,
      logRetentionDays: int(get, 'logRetentionDays') ?? DEFAULTS.logRetentionDays,
      vpc,
      reservedConcurrency: int(get, 'reservedConcurrency'),
      tracing: bool(get, 'tracing'),
    },
    alarmTopicArn: str(get, 'alarmTopicArn'),
    webAclArn: str(get, 'webAclArn'),
    retainLogs: bool(get, 'retainLogs'),
    createApiGatewayCloudWatchRole: bool(get, 'createApiGatewayCloudWatchRole'),
    restStageVariables: map(get, 'restStageVariables'),
    sourceBranch: str(get, 'sourceBranch'),
    throttle: {
      rateLimit: int(get, 'throttleRateLimit') ?? DEFAULTS.throttle.rateLimit,
      burstLimit: int(get, 'throttleBurstLimit') ?? DEFAULTS.throttle.burstLimit,
    },
    routeThrottles: routeThrottles(get),
    usagePlan: usagePlan(get),
    corsOrigin: str(get, 'corsOrigin'),
    customDomain: customDomain(get),
  };
}
