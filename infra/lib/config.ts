/**
 * Typed configuration of the app. `bin/` builds it from CDK context; the constructs in `lib/`
 * only ever see these types (they read no context and no environment variable).
 */
import type { RouteTable } from './route-table';

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
}

/**
 * A REST usage plan fed by the authorizers: they return the value of `claim` as
 * `usageIdentifierKey` (`AUTHZ_USAGE_IDENTIFIER_CLAIM`), the API takes API keys from the
 * authorizer (`apiKeySource: AUTHORIZER`), and every guarded method requires a key. The keys
 * themselves (one per client, the claim's value) are added to the plan by the operator.
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
