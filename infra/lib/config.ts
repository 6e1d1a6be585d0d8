/**
 * Typed configuration of the app. `bin/` builds it from CDK context; the constructs in `lib/`
 * only ever see these types (they read no context and no environment variable).
 */
import { CEDAR_FILES, type RouteTable } from './route-table';
import { isValidStageName, stageNameForBranch, stageNameProblem } from './stage-name';

/** Lambda architecture: arm64 by default (cheaper per ms, same speed for this code). */
export type ArchitectureName = 'arm64' | 'x86_64';

/** Where to place the authorizers in a VPC (IdPs reachable only inside it). */
export interface VpcPlacement {
  readonly vpcId: string;
  /** Private subnets with a route to the IdP (NAT or VPC endpoint). */
  readonly subnetIds: readonly string[];
  /** Availability zones of the subnets, same order (one per subnet, or one for all). */
  readonly availabilityZones: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/** Settings shared by every Lambda authorizer. */
export interface AuthorizerSettings {
  /**
   * Expected `iss` (and OIDC discovery base): `AUTHZ_ISSUER`; also the native JWT authorizer's
   * issuer. Unset: the stack creates its own Cognito user pool (lib/user-pool.ts) and uses it.
   */
  readonly issuer?: string;
  /** Absolute path of a PEM file of extra trusted CAs, shipped in every authorizer's asset: `AUTHZ_CA_BUNDLE`. */
  readonly caBundle?: string;
  /** Per-API audience replacing the route table's (`AUTHZ_AUDIENCE`, JWT authorizer audience). */
  readonly audienceOverrides?: Readonly<Record<string, string>>;
  /** `AUTHZ_ALGORITHMS` allow-list; unset: every asymmetric algorithm. */
  readonly algorithms?: readonly string[];
  /** `AUTHZ_CONTEXT_CLAIMS`: extra claims copied into the authorizer context. */
  readonly contextClaims?: readonly string[];
  /** `AUTHZ_JWKS_URI`: skip discovery. */
  readonly jwksUri?: string;
  /** Secrets Manager secret ARN for RFC 7662 introspection: `AUTHZ_INTROSPECTION_SECRET_ARN`
   *  plus `secretsmanager:GetSecretValue` on exactly this secret. */
  readonly introspectionSecretArn?: string;
  /** REQUEST authorizer: query parameter that may carry the token (`AUTHZ_TOKEN_QUERY_PARAM`).
   *  Needs `cacheTtlSeconds: 0` on the API (the header cannot then be a required identity source). */
  readonly tokenQueryParam?: string;
  /** Further `AUTHZ_*` variables (see the README table); the generated ones cannot be overridden. */
  readonly extraEnvironment?: Readonly<Record<string, string>>;
  readonly architecture: ArchitectureName;
  /** Memory (MB): Lambda's CPU share scales with it. */
  readonly memorySizeMb: number;
  /** Function timeout (s), below API Gateway's 10 s authorizer limit. */
  readonly timeoutSeconds: number;
  /** Log retention of the authorizers' and APIs' log groups (days; a CloudWatch Logs value). */
  readonly logRetentionDays: number;
  readonly vpc?: VpcPlacement;
  /** Reserved concurrency of each authorizer function (caps it, and guarantees it that much). */
  readonly reservedConcurrency?: number;
  /** AWS X-Ray active tracing of the authorizer functions (and of the REST stages). */
  readonly tracing?: boolean;
}

/** API Gateway throttling: steady requests per second and burst (token bucket size). */
export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The stack's configuration. */
export interface AuthzStackConfig {
  /** Application name: stack `<appName>-<stage>`, resource name prefix. */
  readonly appName: string;
  /** Stage name (already valid: see `stage-name.ts`). */
  readonly stage: string;
  readonly routeTable: RouteTable;
  /** Directory of the Cargo workspace (`Cargo.toml`). */
  readonly workspaceRoot: string;
  /**
   * The `authz-config` program that reads each authorizer's configuration at synth (its cache
   * key); unset: built in {@link workspaceRoot} with cargo (lib/authz-config.ts).
   */
  readonly authzConfigProgram?: string;
  readonly authorizers: AuthorizerSettings;
  /** SNS topic the error alarms notify. */
  readonly alarmTopicArn?: string;
  /** Keep log groups when the stack is deleted (default: only for the production stage). */
  readonly retainLogs?: boolean;
  /**
   * Create the account-wide API Gateway CloudWatch role (`AWS::ApiGateway::Account`). REST
   * access and execution logs need it once per account and region; leave false when it is set.
   */
  readonly createApiGatewayCloudWatchRole?: boolean;
  /** AWS WAFv2 regional web ACL associated with every REST API stage. */
  readonly webAclArn?: string;
  /** REST stage variables (e.g. `authzRouteSet`); `authz*` ones become REQUEST identity sources. */
  readonly restStageVariables?: Readonly<Record<string, string>>;
  /**
   * The git branch a CI deployment is for: the stage must be that branch's stage, and the stack
   * is tagged `source=branch` so the nightly sweep (bin/sweep.ts) may destroy it once the branch
   * is gone. Manual stages (no branch) are never swept.
   */
  readonly sourceBranch?: string;
  /** Stage-wide throttling of every API (default {@link DEFAULTS}.throttle). */
  readonly throttle: Throttle;
  /** Per-route throttling by route key of routes.json (`GET /pets`), overriding the stage's. */
  readonly routeThrottles?: Readonly<Record<string, Throttle>>;
  /** REST usage plans with API keys from the authorizer (unset: none). */
  readonly usagePlan?: UsagePlanSettings;
  /**
   * CORS for browsers on this origin (`https://app.example.com`, or `*`): preflight answered,
   * `Access-Control-Allow-Origin` on answers including the 401/403 gateway responses, and
   * `WWW-Authenticate` exposed to scripts. One origin: the REST responses carry it as a static
   * header value. Unset: no CORS (browsers on other origins cannot read the answers).
   */
  readonly corsOrigin?: string;
  /** A custom domain for the stage's APIs, each under its name as base path (unset: none). */
  readonly customDomain?: CustomDomainSettings;
}

/**
 * `https://<domainName>/<api name>/…` for every API of the stage: a regional API Gateway domain
 * (TLS 1.2) with the ACM certificate, one API mapping per API. A domain belongs to one stage:
 * set it for the stage that owns it (e.g. prod), not for every branch. DNS (a CNAME or alias to
 * the `CustomDomainTarget` output) is the operator's.
 */
export interface CustomDomainSettings {
  readonly domainName: string;
  /** ACM certificate ARN, in the stack's region, covering `domainName`. */
  readonly certificateArn: string;
  /** Mutual TLS on the domain (unset: none); then every API's default endpoint is disabled. */
  readonly mutualTls?: MutualTlsSettings;
}

/**
 * Mutual TLS on the custom domain: API Gateway accepts a connection only with a client
 * certificate that chains to the truststore, and passes it to the REQUEST and HTTP Lambda
 * authorizers (`clientCertPem`), which certificate-bound tokens (RFC 8705) need. The APIs'
 * default `execute-api` endpoints are disabled, since a client could otherwise skip the
 * certificate there.
 */
export interface MutualTlsSettings {
  /** The truststore, a PEM bundle of the CAs of client certificates: `s3://bucket/key`. */
  readonly truststoreUri: string;
  /** The S3 object version of the truststore (versioned bucket; unset: the latest). */
  readonly truststoreVersion?: string;
}

/** `s3://bucket/key` → bucket and key; undefined when it is not such a URI. */
export function parseS3Uri(uri: string): { readonly bucket: string; readonly key: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(\S+)$/.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

/**
 * A REST usage plan fed by the authorizers: they return the value of `claim` as
 * `usageIdentifierKey` (`AUTHZ_USAGE_IDENTIFIER_CLAIM`), the API takes API keys from the
 * authorizer (`apiKeySource: AUTHORIZER`), and every guarded method requires a key. The keys
 * themselves (one per client, the claim's value) are added to the plan by the operator; API
 * Gateway refuses key values under 20 characters, so the claim's values must be at least that long
 * (the authorizers refuse a shorter, missing or non-string claim: 403, `invalid_usage_identifier`).
 */
export interface UsagePlanSettings {
  readonly claim: string;
  /** Requests per key per day. */
  readonly quotaPerDay: number;
}

/** Defaults, one place. */
export const DEFAULTS = {
  architecture: 'arm64' as ArchitectureName,
  /**
   * 128 MB, from the figures of `scripts/bench.sh lambda` (BENCHMARKS.md, "Lambda-sized"): at
   * Lambda's 7.2 % CPU share our cold start over HTTPS is 13-24 ms (median, per authorizer) and a
   * warm call bills 1 ms (mean 1.02-1.06 ms), the same as at 256, 512 and 1024 MB, because the
   * work fits in the CPU quota; so more memory buys no latency and costs more ($0.2017 per
   * million calls at 128 MB, $0.2034 at 256, $0.2137 at 1024, arm64). Raise it for a function
   * serving more than a few hundred calls a second per execution environment, where the 7.2 %
   * quota starts to run out.
   */
  memorySizeMb: 128,
  /**
   * 5 s: the worst inline work of an invocation is a key refresh, discovery + JWKS at the 2 s
   * HTTP timeout each (4 s); above that, and under API Gateway's 10 s authorizer limit, so a
   * stuck call ends as a logged Lambda timeout (500) rather than an API Gateway timeout.
   */
  timeoutSeconds: 5,
  logRetentionDays: 30,
  /**
   * Stage throttling, 100 requests/s steady with bursts of 200: a demo stage per branch, far
   * below the account's 10,000/s shared by every API of the region, so one stage cannot starve
   * the others; raise it for production with `throttleRateLimit` / `throttleBurstLimit`.
   */
  throttle: { rateLimit: 100, burstLimit: 200 } as Throttle,
  /** Usage plan quota per API key and day, when a plan is on. */
  usagePlanQuotaPerDay: 10000,
} as const;

/** CloudWatch Logs retention values. */
export const VALID_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Where API access log groups live: outside the account's CloudWatch Logs resource policy. */
export const VENDED_LOGS_PREFIX = '/aws/vendedlogs/';

/**
 * The access log group of an API stage. API Gateway delivering access logs to a log group adds
 * that group to the account-wide CloudWatch Logs resource policy (5,120 characters, entries never
 * removed): after some 40 stages every new one fails to enable logging. Groups under
 * `/aws/vendedlogs/` need no entry (AWS's guidance). A kept group (see {@link logGroupNameFor})
 * carries the API id instead, which is new with every new API, so a re-created stage never meets
 * its old group's name.
 */
export function accessLogGroupName(apiName: string, apiId: string, retained: boolean): string {
  return retained ? `${VENDED_LOGS_PREFIX}apigateway/${apiName}-${apiId}/access` : `${VENDED_LOGS_PREFIX}apigateway/${apiName}/access`;
}

/**
 * The name of a log group the stack creates: fixed (`name`) for a stage that deletes its logs
 * with the stack, generated by CloudFormation for one that keeps them. A kept log group with a
 * fixed name would make the stack impossible to create again after `cdk destroy` ("already
 * exists"); with a generated name a re-created production stage gets new log groups next to the
 * kept ones.
 */
export function logGroupNameFor(name: string, retained: boolean): string | undefined {
  return retained ? undefined : name;
}

/** Application names: PascalCase, short enough for every derived resource name. */
export const APP_NAME_PATTERN = /^[A-Z][A-Za-z0-9]{0,11}$/;

/**
 * Variables the stack generates; `extraEnvironment` may not set them. Each must be a variable of
 * the Rust settings table (`authz_core::SETTINGS`): test/golden.test.ts checks it against
 * tests/golden/route-semantics.json, which the Rust side generates.
 */
export const GENERATED_VARIABLES: readonly string[] = [
  'AUTHZ_ISSUER',
  'AUTHZ_AUDIENCE',
  'AUTHZ_ROUTES',
  'AUTHZ_ALGORITHMS',
  'AUTHZ_CONTEXT_CLAIMS',
  'AUTHZ_JWKS_URI',
  'AUTHZ_ALLOWED_API_ARNS',
  'AUTHZ_INTROSPECTION_SECRET_ARN',
  'AUTHZ_TOKEN_QUERY_PARAM',
  'AUTHZ_CA_BUNDLE',
  'AUTHZ_USAGE_IDENTIFIER_CLAIM',
  'AUTHZ_SENDER_CONSTRAINED',
  'AUTHZ_DPOP_REPLAY_TABLE',
  // routes.json's `cedar` object (its files, bundled, and the entity mapping).
  ...Object.values(CEDAR_FILES),
  'AUTHZ_CEDAR_NAMESPACE',
  'AUTHZ_CEDAR_GROUPS_CLAIM',
  'AUTHZ_CEDAR_ENTITY_PREFIX',
];

/**
 * Generated only when the stack makes its own user pool (no issuer); with an external issuer
 * `extraEnvironment` may set them (e.g. AUTHZ_CLIENT_ID for an existing Cognito pool).
 */
export const USER_POOL_VARIABLES: readonly string[] = ['AUTHZ_CLIENT_ID'];

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** A configuration error: the message names the setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Checks a whole configuration before anything is built: every error names the setting (the
 * context key of bin/context.ts, or the routes.json entry).
 */
export function checkConfig(c: AuthzStackConfig): void {
  const a = c.authorizers;
  const fail = (m: string): never => {
    throw new ConfigError(m);
  };
  if (!APP_NAME_PATTERN.test(c.appName)) fail(`appName "${c.appName}": PascalCase letters and digits, at most 12`);
  if (!isValidStageName(c.stage)) fail(`stage "${c.stage}": ${stageNameProblem(c.stage)}`);
  if (a.issuer !== undefined) {
    let issuer: URL | undefined;
    try {
      issuer = new URL(a.issuer);
    } catch {
      fail(`issuer "${a.issuer}" is not a URL`);
    }
    if (issuer && issuer.protocol !== 'https:') fail(`issuer "${a.issuer}" must be https:// (API Gateway and Lambda reach it over the internet or the VPC)`);
  } else {
    // The stack's own Cognito pool: its tokens carry no `aud` and its keys come from discovery.
    if (a.audienceOverrides !== undefined) fail('audiences need an issuer: the stack\'s own Cognito pool issues tokens without aud (the authorizers match client_id)');
    if (a.jwksUri !== undefined) fail('jwksUri needs an issuer: the stack\'s own Cognito pool is found by discovery');
    for (const key of Object.keys(a.extraEnvironment ?? {})) {
      if (USER_POOL_VARIABLES.includes(key)) fail(`extraEnvironment: ${key} is generated from the stack's own user pool (no issuer given)`);
    }
  }
  if (!Number.isInteger(a.memorySizeMb) || a.memorySizeMb < 128 || a.memorySizeMb > 10240) {
    fail(`memorySizeMb ${a.memorySizeMb}: an integer from 128 to 10240`);
  }
  if (!(a.timeoutSeconds >= 1 && a.timeoutSeconds <= 9 && Number.isInteger(a.timeoutSeconds))) {
    fail(`timeoutSeconds ${a.timeoutSeconds}: 1 to 9 (API Gateway gives an authorizer 10 s)`);
  }
  if (!VALID_RETENTION_DAYS.includes(a.logRetentionDays)) {
    fail(`logRetentionDays ${a.logRetentionDays}: one of ${VALID_RETENTION_DAYS.join(', ')}`);
  }
  if (a.introspectionSecretArn !== undefined && !SECRET_ARN.test(a.introspectionSecretArn)) {
    fail(`introspectionSecretArn "${a.introspectionSecretArn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX)`);
  }
  if (a.jwksUri !== undefined && !/^https:\/\//.test(a.jwksUri)) fail(`jwksUri "${a.jwksUri}" must be https://`);
  for (const key of Object.keys(a.extraEnvironment ?? {})) {
    if (!/^AUTHZ_[A-Z0-9_]+$/.test(key)) fail(`extraEnvironment: "${key}" is not an AUTHZ_* variable`);
    if (GENERATED_VARIABLES.includes(key)) fail(`extraEnvironment: ${key} is generated from the typed settings and routes.json; set it there`);
    if (key === 'AUTHZ_CONFIG_FILE') {
      fail(
        'extraEnvironment: AUTHZ_CONFIG_FILE names a file in the function\'s filesystem, which cdk synth cannot read, and the identity ' +
          'sources (the authorizer cache key) come from that configuration; give the document in AUTHZ_CONFIG, or the settings as variables',
      );
    }
  }
  for (const api of Object.keys(a.audienceOverrides ?? {})) {
    if (!c.routeTable.apis.some((x) => x.name === api)) fail(`audience override for unknown API "${api}"`);
  }
  if (a.vpc) {
    if (a.vpc.subnetIds.length === 0) fail('vpc: at least one subnet');
    if (a.vpc.securityGroupIds.length === 0) fail('vpc: at least one security group');
    if (a.vpc.availabilityZones.length === 0) fail('vpc: the subnets\' availability zones');
  }
  const checkThrottle = (what: string, t: Throttle) => {
    if (!Number.isInteger(t.rateLimit) || t.rateLimit < 1 || t.rateLimit > 10000) fail(`${what} rate ${t.rateLimit}: 1 to 10000 requests/s (the account's regional limit)`);
    if (!Number.isInteger(t.burstLimit) || t.burstLimit < 1 || t.burstLimit > 5000) fail(`${what} burst ${t.burstLimit}: 1 to 5000 (the account's regional limit)`);
  };
  checkThrottle('throttleRateLimit/throttleBurstLimit', c.throttle);
  for (const [route, t] of Object.entries(c.routeThrottles ?? {})) {
    if (!c.routeTable.apis.some((x) => x.routes.some((r) => r.route === route))) fail(`routeThrottles: "${route}" is no route of routes.json`);
    checkThrottle(`routeThrottles "${route}"`, t);
  }
  if (c.corsOrigin !== undefined && c.corsOrigin !== '*' && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(c.corsOrigin)) {
    fail(`corsOrigin "${c.corsOrigin}": one origin (scheme://host[:port], no path) or *`);
  }
  if (c.customDomain) {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(c.customDomain.domainName)) fail(`domainName "${c.customDomain.domainName}" is not a lower-case DNS name`);
    if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(c.customDomain.certificateArn)) fail(`certificateArn "${c.customDomain.certificateArn}" is not an ACM certificate ARN`);
    const mtls = c.customDomain.mutualTls;
    if (mtls && parseS3Uri(mtls.truststoreUri) === undefined) fail(`mtlsTruststoreUri "${mtls.truststoreUri}" is not s3://bucket/key`);
    if (mtls?.truststoreVersion !== undefined && !/^\S{1,1024}$/.test(mtls.truststoreVersion)) fail(`mtlsTruststoreVersion "${mtls.truststoreVersion}" is not an S3 object version id`);
  }
  if (c.usagePlan) {
    if (!/^[A-Za-z0-9_:.\/-]+$/.test(c.usagePlan.claim)) fail(`usagePlanClaim "${c.usagePlan.claim}" is not a claim name`);
    if (!Number.isInteger(c.usagePlan.quotaPerDay) || c.usagePlan.quotaPerDay < 1) fail(`usagePlanQuotaPerDay ${c.usagePlan.quotaPerDay}: at least 1`);
    if (!c.routeTable.apis.some((x) => x.type === 'rest')) fail('usagePlanClaim: usage plans need a REST API in routes.json');
  }
  if (a.reservedConcurrency !== undefined && !(Number.isInteger(a.reservedConcurrency) && a.reservedConcurrency >= 1)) {
    fail(`reservedConcurrency ${a.reservedConcurrency}: a whole number of at least 1 (0 would stop every authorizer: every request a 500)`);
  }
  if (c.sourceBranch !== undefined && stageNameForBranch(c.sourceBranch) !== c.stage) {
    fail(`sourceBranch "${c.sourceBranch}": its stage is ${stageNameForBranch(c.sourceBranch)}, not ${c.stage}`);
  }
  if (a.tokenQueryParam !== undefined && !/^[A-Za-z0-9_.~-]+$/.test(a.tokenQueryParam)) {
    fail(`tokenQueryParam "${a.tokenQueryParam}" is not a query parameter name`);
  }
}
