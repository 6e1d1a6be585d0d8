import { Annotations, type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ALARM_PERIOD, AuthorizerFunction, missingFeatures } from './authorizer-function';
import { CedarValidationError, cedarEnvironment, cedarFilesOf, validateCedar } from './cedar';
import { type TokenIdentity, environmentFor } from './authorizer-environment';
import { AuthzConfigError, type CacheKey, type CacheKeyReader, authzConfigProgram, cacheKeyReader } from './authz-config';
import { type AuthzStackConfig, ConfigError, type Throttle, checkConfig } from './config';
import { StageCustomDomain, type MappedStage } from './custom-domain';
import { logicalIdWithoutGrouping } from './grouping';
import { HttpApiFromTable } from './http-api';
import { type MonitoredApi, StageMonitoring } from './monitoring';
import { RestApiFromTable, checkRestCaching } from './rest-api';
import {
  type ApiSpec,
  BINARY_BY_AUTHORIZER,
  type LambdaAuthorizerType,
  lambdaAuthorizersOf,
  routeTableWarnings,
  pascalCase,
} from './route-table';
import { DpopReplayTable } from './replay-table';
import { PRODUCTION_STAGE, SOURCE_TAG } from './stage-name';
import { StageUserPool, withCognitoScopes } from './user-pool';

/** Stand-ins for the generated values only known at deploy time (the stack's own user pool). */
const DEPLOY_TIME_STAND_INS: Readonly<Record<string, string>> = {
  AUTHZ_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_StandIn',
  AUTHZ_CLIENT_ID: 'stand-in-client',
  AUTHZ_DPOP_REPLAY_TABLE: 'stand-in-replay-table',
};

// Moved to config.ts (validation beside the configuration it checks); re-exported for importers.
export { APP_NAME_PATTERN, ConfigError, GENERATED_VARIABLES, USER_POOL_VARIABLES } from './config';

/** Properties of {@link AuthzStack}. */
export interface AuthzStackProps extends StackProps {
  readonly config: AuthzStackConfig;
}

/** The route throttles that name routes of `api`. */
function routeThrottlesOf(c: AuthzStackConfig, api: ApiSpec): Record<string, Throttle> {
  return Object.fromEntries(Object.entries(c.routeThrottles ?? {}).filter(([route]) => api.routes.some((r) => r.route === route)));
}

/**
 * One deployment stage: every API of the route table with the Rust authorizers its routes use,
 * named `<app>-<stage>-…`, with an output per API giving its invoke URL.
 */
export class AuthzStack extends Stack {
  /** Authorizer functions by API name and authorizer type. */
  readonly authorizers: Readonly<Record<string, Partial<Record<LambdaAuthorizerType, AuthorizerFunction>>>>;
  /** Invoke URLs by API name. */
  readonly urls: Readonly<Record<string, string>>;
  /** Every alarm of the stage: per API 5XX, per authorizer faults, Lambda errors, throttles, cold starts. */
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  /** The DPoP replay table, when an API of the table has sender-constrained tokens. */
  readonly replayTable?: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: AuthzStackProps) {
    // Stack tags (what `cdk deploy` sets on the CloudFormation stack; with the feature flag
    // @aws-cdk/core:explicitStackTags, Tags.of(stack) only tags resources): app and stage, and
    // source=branch for CI's branch stages, which the nightly sweep looks for.
    super(scope, id, {
      ...props,
      tags: {
        ...props.tags,
        app: props.config.appName,
        stage: props.config.stage,
        ...(props.config.sourceBranch !== undefined ? { [SOURCE_TAG.key]: SOURCE_TAG.branch } : {}),
      },
    });
    const c = props.config;
    checkConfig(c);
    // What the table may mean by mistake (the local mode prints the same lines at start).
    for (const w of routeTableWarnings(c.routeTable)) Annotations.of(this).addWarningV2('authz:routeTable', w);
    const a = c.authorizers;
    const prefix = `${c.appName}-${c.stage}`;
    const architecture = a.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const retainLogs = c.retainLogs ?? c.stage === PRODUCTION_STAGE;
    const logRemovalPolicy = retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = a.logRetentionDays as logs.RetentionDays;
    const metricNamespace = `${c.appName}/${c.stage}`;

    // No issuer given: the stage brings its own IdP, removed with the stack unless it is kept.
    const pool =
      a.issuer === undefined
        ? new StageUserPool(this, 'UserPool', { apis: c.routeTable.apis, namePrefix: prefix, removalPolicy: logRemovalPolicy })
        : undefined;

    // Sender-constrained APIs: one table of used DPoP proofs for the stage, written by their
    // authorizers only.
    const replayTable = c.routeTable.apis.some((x) => x.senderConstrained !== 'off')
      ? new DpopReplayTable(this, 'DpopReplay', { tableName: `${prefix}-dpop-replay`, removalPolicy: logRemovalPolicy }).table
      : undefined;
    this.replayTable = replayTable;

    const allAuthorizers: Record<string, Partial<Record<LambdaAuthorizerType, AuthorizerFunction>>> = {};
    const urls: Record<string, string> = {};
    let createdCloudWatchRole = false;
    const monitored: MonitoredApi[] = [];
    const stages: MappedStage[] = [];
    // Mutual TLS on the custom domain: the default endpoints would let a client skip it.
    const mutualTls = c.customDomain?.mutualTls !== undefined;

    for (const tableApi of c.routeTable.apis) {
      // With the stack's pool, scopes are Cognito's `<api>/<scope>` names, derived from the table.
      const api = pool ? withCognitoScopes(tableApi) : tableApi;
      const Id = pascalCase(api.name);
      const apiPrefix = `${prefix}-${api.name}`;
      const identity: TokenIdentity = pool
        ? { kind: 'pool', issuer: pool.issuer, clientIds: pool.clientIdsOf(api.name) }
        : { kind: 'external', issuer: a.issuer as string, audience: a.audienceOverrides?.[api.name] ?? api.audience };
      const fns: Partial<Record<LambdaAuthorizerType, AuthorizerFunction>> = {};
      const cacheKeys: Partial<Record<LambdaAuthorizerType, CacheKey>> = {};
      // routes.json first (its message names the file), then each authorizer's whole configuration.
      if (api.type === 'rest') checkRestCaching(api);
      // The Cedar policies against their schema (strict; an empty context when cached) before
      // any authorizer reads them.
      try {
        validateCedar(api);
      } catch (e) {
        if (e instanceof CedarValidationError) throw new ConfigError(e.message);
        throw e;
      }
      const apiReplayTable = api.senderConstrained !== 'off' ? replayTable : undefined;
      for (const type of lambdaAuthorizersOf(api)) {
        const environment = environmentFor(c, api, type, identity, apiReplayTable?.tableName);
        cacheKeys[type] = this.cacheKeyOf(c, api, type, environment);
        const TypeId = pascalCase(type);
        fns[type] = new AuthorizerFunction(this, `${Id}${TypeId}Authorizer`, {
          binary: BINARY_BY_AUTHORIZER[type],
          workspaceRoot: c.workspaceRoot,
          functionName: `${apiPrefix}-${type}`,
          description: `${BINARY_BY_AUTHORIZER[type]} for the ${api.name} API, stage ${c.stage}`,
          environment,
          architecture,
          memorySizeMb: a.memorySizeMb,
          timeout: Duration.seconds(a.timeoutSeconds),
          logRetention,
          logRemovalPolicy,
          introspectionSecretArn: a.introspectionSecretArn,
          replayTable: apiReplayTable,
          caBundleFile: a.caBundle,
          cedarFiles: cedarFilesOf(api, type),
          vpc: a.vpc,
          metricNamespace,
          metricPrefix: `${Id}${TypeId}`,
          alarmName: `${apiPrefix}-${type}-authorizer-errors`,
          alarmTopicArn: c.alarmTopicArn,
          unauthorizedIsFunctionError: type !== 'http',
          reservedConcurrency: a.reservedConcurrency,
          tracing: a.tracing ?? false,
        });
        // A setting given through authzEnvironment or an AUTHZ_CONFIG document that the binary
        // is not built for (Cedar on an authorizer without Cedar routes, say) would pass this
        // synth and fail every cold start: refuse it here, by the reader's own list.
        const missing = missingFeatures(fns[type]!.features, cacheKeys[type]!.features);
        if (missing.length > 0) {
          throw new ConfigError(
            `${api.name}: the ${type} authorizer's configuration needs the cargo feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, ` +
              'which its build leaves out (built in: introspection with introspectionSecretArn, replay-store with senderConstrained, ' +
              'cedar with routes marked "cedar" in routes.json); set those there, not through authzEnvironment or AUTHZ_CONFIG',
          );
        }
        new CfnOutput(this, `${Id}${TypeId}FunctionName`, {
          value: fns[type]!.function.functionName,
          description: `Function name of the ${api.name} ${type} authorizer, stage ${c.stage}`,
        });
      }
      allAuthorizers[api.name] = fns;
      let serverErrors: cloudwatch.IMetric;

      if (api.type === 'rest') {
        const createCloudWatchRole: boolean = (c.createApiGatewayCloudWatchRole ?? false) && !createdCloudWatchRole;
        createdCloudWatchRole ||= createCloudWatchRole;
        const rest = new RestApiFromTable(this, Id, {
          api,
          restApiName: apiPrefix,
          stageName: c.stage,
          authorizerFunctions: { token: fns.token?.function, request: fns.request?.function },
          cacheKeys: { token: cacheKeys.token, request: cacheKeys.request },
          stageVariables: c.restStageVariables,
          logRetention,
          logRemovalPolicy,
          createCloudWatchRole,
          webAclArn: c.webAclArn,
          throttle: c.throttle,
          routeThrottles: routeThrottlesOf(c, api),
          tracing: a.tracing ?? false,
          usagePlan: c.usagePlan,
          corsOrigin: c.corsOrigin,
          disableExecuteApiEndpoint: mutualTls || undefined,
        });
        if (rest.usagePlan) {
          new CfnOutput(this, `${Id}UsagePlanId`, {
            value: rest.usagePlan.usagePlanId,
            description: `Usage plan of ${api.name}: add each client's API key (value = its ${c.usagePlan!.claim} claim, which API Gateway takes only at 20 characters or more) with aws apigateway create-usage-plan-key`,
          });
        }
        new CfnOutput(this, `${Id}ApiId`, { value: rest.restApi.restApiId, description: `REST API id of ${api.name}, stage ${c.stage}` });
        // Each REST authorizer may grant this API's stage only (AUTHZ_ALLOWED_API_ARNS).
        const stageArn = this.formatArn({ service: 'execute-api', resource: rest.restApi.restApiId, resourceName: c.stage });
        for (const fn of [fns.token, fns.request]) fn?.function.addEnvironment('AUTHZ_ALLOWED_API_ARNS', stageArn);
        urls[api.name] = rest.url;
        stages.push({ apiName: api.name, id: Id, apiId: rest.restApi.restApiId, stageName: rest.restApi.deploymentStage.stageName, dependable: rest.restApi.deploymentStage });
        serverErrors = rest.restApi.deploymentStage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });
      } else {
        const http = new HttpApiFromTable(this, Id, {
          api,
          httpApiName: apiPrefix,
          stageName: c.stage,
          httpAuthorizerFunction: fns.http?.function,
          jwtIssuer: identity.issuer,
          // API Gateway matches `aud`, else `client_id` (Cognito access tokens), against these.
          jwtAudience: identity.kind === 'pool' ? identity.clientIds : [identity.audience],
          architecture,
          logRetention,
          logRemovalPolicy,
          cacheKey: cacheKeys.http,
          throttle: c.throttle,
          routeThrottles: routeThrottlesOf(c, api),
          corsOrigin: c.corsOrigin,
          disableExecuteApiEndpoint: mutualTls || undefined,
        });
        new CfnOutput(this, `${Id}ApiId`, { value: http.httpApi.apiId, description: `HTTP API id of ${api.name}, stage ${c.stage}` });
        urls[api.name] = http.url;
        stages.push({ apiName: api.name, id: Id, apiId: http.httpApi.apiId, stageName: c.stage, dependable: http.stage });
        serverErrors = http.stage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });
      }
      monitored.push({ name: api.name, id: Id, namePrefix: apiPrefix, serverErrors, authorizers: fns });
      // With the default endpoint disabled, the API answers on the custom domain only.
      if (mutualTls) urls[api.name] = `https://${c.customDomain!.domainName}/${api.name}/`;
      new CfnOutput(this, `${Id}Url`, {
        value: urls[api.name],
        description: `Invoke URL of the ${api.name} ${api.type.toUpperCase()} API, stage ${c.stage}`,
      });
    }
    if (a.reservedConcurrency !== undefined) {
      const functions = Object.values(allAuthorizers).reduce((n, fns) => n + Object.keys(fns).length, 0);
      const total = functions * a.reservedConcurrency;
      Annotations.of(this).addWarningV2(
        'authz:reservedConcurrency',
        `reservedConcurrency ${a.reservedConcurrency} reserves ${total} concurrent executions (${functions} authorizer functions): ` +
          `Lambda keeps at least 100 of the account's concurrency unreserved, so the deploy fails unless the region's quota is at least ${total + 100} ` +
          'plus what other functions reserve; new accounts often have a quota too low to reserve any ' +
          '(aws lambda get-account-settings: AccountLimit.UnreservedConcurrentExecutions)',
      );
    }
    if (c.customDomain) new StageCustomDomain(this, 'Domain', { settings: c.customDomain, stages });
    const monitoring = new StageMonitoring(this, 'Monitoring', {
      stage: c.stage,
      dashboardName: prefix,
      apis: monitored,
      alarmTopicArn: c.alarmTopicArn,
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
    this.authorizers = allAuthorizers;
    this.urls = urls;
  }

  private reader?: CacheKeyReader;

  /**
   * The cache key of one authorizer, read from its environment by `authz-config` as its cold
   * start reads it (lib/authz-config.ts): the identity sources, and a refusal of whatever the
   * cold start would refuse. Values only known at deploy time (the stack's own user pool) are
   * given as stand-ins (they are not part of the key); the CA bundle and the Cedar files are the
   * local files (the ones bundled), so the Cedar policies and schema are parsed, and each Cedar
   * route's action checked against the schema, by the cold start's own code.
   */
  private cacheKeyOf(c: AuthzStackConfig, api: ApiSpec, type: LambdaAuthorizerType, environment: Record<string, string>): CacheKey {
    this.reader ??= cacheKeyReader(authzConfigProgram(c.workspaceRoot, c.authzConfigProgram));
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(environment)) {
      if (!Token.isUnresolved(value)) env[name] = value;
      else if (name in DEPLOY_TIME_STAND_INS) env[name] = DEPLOY_TIME_STAND_INS[name];
      else throw new ConfigError(`${api.name} ${type} authorizer: ${name} is only known at deploy time; cdk synth cannot read the configuration`);
    }
    if (c.authorizers.caBundle) env.AUTHZ_CA_BUNDLE = c.authorizers.caBundle;
    // The Cedar files where synth sees them (the function reads its bundled copies).
    Object.assign(env, cedarEnvironment(api, type, 'local'));
    const stageVariables = api.type === 'rest' ? c.restStageVariables : undefined;
    try {
      return this.reader(type, env, { stageVariables, cached: api.cacheTtlSeconds > 0 });
    } catch (e) {
      if (!(e instanceof AuthzConfigError)) throw e;
      // The variables routes.json sets, by their key there (the cold start names the variable).
      const fromTable =
        e.message.includes('AUTHZ_SENDER_CONSTRAINED')
          ? `; AUTHZ_SENDER_CONSTRAINED is routes.json's apis.${api.name}.senderConstrained "${api.senderConstrained}", with apis.${api.name}.cacheTtlSeconds ${api.cacheTtlSeconds}`
          : '';
      throw new ConfigError(`${api.name}: ${e.message} (the ${type} authorizer's configuration, as its cold start reads it${fromTable})`);
    }
  }

  /** Grouping constructs (monitoring, custom domain) take no part in logical ids: lib/grouping.ts. */
  protected allocateLogicalId(element: CfnElement): string {
    return logicalIdWithoutGrouping(element) ?? super.allocateLogicalId(element);
  }
}
