import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ALARM_PERIOD, AuthorizerFunction, DECISIONS } from './authorizer-function';
import { type AuthzStackConfig, type Throttle, VALID_RETENTION_DAYS } from './config';
import { HttpApiFromTable } from './http-api';
import { RestApiFromTable } from './rest-api';
import {
  type ApiSpec,
  BINARY_BY_AUTHORIZER,
  type LambdaAuthorizerType,
  authzRoutesFor,
  identityHeadersFrom,
  lambdaAuthorizersOf,
  routeSetsFrom,
  routeTableWarnings,
  pascalCase,
} from './route-table';
import { PRODUCTION_STAGE, SOURCE_TAG, isValidStageName, stageNameForBranch, stageNameProblem } from './stage-name';
import { StageUserPool, withCognitoScopes } from './user-pool';

/** Properties of {@link AuthzStack}. */
export interface AuthzStackProps extends StackProps {
  readonly config: AuthzStackConfig;
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
];

/**
 * Generated only when the stack makes its own user pool (no issuer); with an external issuer
 * `extraEnvironment` may set them (e.g. AUTHZ_CLIENT_ID for an existing Cognito pool).
 */
export const USER_POOL_VARIABLES: readonly string[] = ['AUTHZ_CLIENT_ID'];

/** Who issues the tokens one API's authorizers accept. */
type TokenIdentity =
  | { readonly kind: 'external'; readonly issuer: string; readonly audience: string }
  | { readonly kind: 'pool'; readonly issuer: string; readonly clientIds: readonly string[] };

/** Lambda's limit on the total size of a function's environment variables. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** A configuration error: the message names the setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function checkConfig(c: AuthzStackConfig): void {
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

    const allAuthorizers: Record<string, Partial<Record<LambdaAuthorizerType, AuthorizerFunction>>> = {};
    const urls: Record<string, string> = {};
    const dashboardWidgets: cloudwatch.IWidget[] = [];
    let createdCloudWatchRole = false;
    const alarms: cloudwatch.Alarm[] = [];
    const stages: Record<string, { apiId: string; stageName: string; dependable: Construct }> = {};
    const alarmTopic = c.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', c.alarmTopicArn) : undefined;

    for (const tableApi of c.routeTable.apis) {
      // With the stack's pool, scopes are Cognito's `<api>/<scope>` names, derived from the table.
      const api = pool ? withCognitoScopes(tableApi) : tableApi;
      const Id = pascalCase(api.name);
      const apiPrefix = `${prefix}-${api.name}`;
      const identity: TokenIdentity = pool
        ? { kind: 'pool', issuer: pool.issuer, clientIds: pool.clientIdsOf(api.name) }
        : { kind: 'external', issuer: a.issuer as string, audience: a.audienceOverrides?.[api.name] ?? api.audience };
      const fns: Partial<Record<LambdaAuthorizerType, AuthorizerFunction>> = {};
      for (const type of lambdaAuthorizersOf(api)) {
        const environment = this.environmentFor(c, api, type, identity);
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
          caBundleFile: a.caBundle,
          vpc: a.vpc,
          metricNamespace,
          metricPrefix: `${Id}${TypeId}`,
          alarmName: `${apiPrefix}-${type}-authorizer-errors`,
          alarmTopicArn: c.alarmTopicArn,
          unauthorizedIsFunctionError: type !== 'http',
          reservedConcurrency: a.reservedConcurrency,
          tracing: a.tracing ?? false,
        });
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
          tokenQueryParam: a.tokenQueryParam,
          stageVariables: c.restStageVariables,
          logRetention,
          logRemovalPolicy,
          createCloudWatchRole,
          webAclArn: c.webAclArn,
          identityHeaders: identityHeadersFrom(a.extraEnvironment),
          routeSets: routeSetsFrom(a.extraEnvironment),
          throttle: c.throttle,
          routeThrottles: routeThrottlesOf(c, api),
          tracing: a.tracing ?? false,
          usagePlan: c.usagePlan,
          corsOrigin: c.corsOrigin,
        });
        if (rest.usagePlan) {
          new CfnOutput(this, `${Id}UsagePlanId`, {
            value: rest.usagePlan.usagePlanId,
            description: `Usage plan of ${api.name}: add each client's API key (value = its ${c.usagePlan!.claim} claim) with aws apigateway create-usage-plan-key`,
          });
        }
        new CfnOutput(this, `${Id}ApiId`, { value: rest.restApi.restApiId, description: `REST API id of ${api.name}, stage ${c.stage}` });
        // Each REST authorizer may grant this API's stage only (AUTHZ_ALLOWED_API_ARNS).
        const stageArn = this.formatArn({ service: 'execute-api', resource: rest.restApi.restApiId, resourceName: c.stage });
        for (const fn of [fns.token, fns.request]) fn?.function.addEnvironment('AUTHZ_ALLOWED_API_ARNS', stageArn);
        urls[api.name] = rest.url;
        stages[api.name] = { apiId: rest.restApi.restApiId, stageName: rest.restApi.deploymentStage.stageName, dependable: rest.restApi.deploymentStage };
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
          identityHeaders: identityHeadersFrom(a.extraEnvironment),
          throttle: c.throttle,
          routeThrottles: routeThrottlesOf(c, api),
          corsOrigin: c.corsOrigin,
        });
        new CfnOutput(this, `${Id}ApiId`, { value: http.httpApi.apiId, description: `HTTP API id of ${api.name}, stage ${c.stage}` });
        urls[api.name] = http.url;
        stages[api.name] = { apiId: http.httpApi.apiId, stageName: c.stage, dependable: http.stage };
        serverErrors = http.stage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });
      }
      // What callers saw: any 5XX of the API (authorizer faults, throttles, integration errors).
      const serverErrorAlarm = new cloudwatch.Alarm(this, `${Id}ServerErrorsAlarm`, {
        alarmName: `${apiPrefix}-5xx`,
        alarmDescription: `The ${api.name} API answered 5XX (stage ${c.stage}); the authorizer alarms and the access log's authorizerError say why`,
        metric: serverErrors,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (alarmTopic) serverErrorAlarm.addAlarmAction(new cwActions.SnsAction(alarmTopic));
      alarms.push(serverErrorAlarm, ...Object.values(fns).flatMap((f) => f.alarms));
      dashboardWidgets.push(
        new cloudwatch.GraphWidget({ title: `${api.name} API: 5XX`, left: [serverErrors], width: 12 }),
      );
      new CfnOutput(this, `${Id}Url`, {
        value: urls[api.name],
        description: `Invoke URL of the ${api.name} ${api.type.toUpperCase()} API, stage ${c.stage}`,
      });

      for (const [type, fn] of Object.entries(fns)) {
        dashboardWidgets.push(
          new cloudwatch.GraphWidget({
            title: `${api.name} ${type} authorizer: decisions`,
            left: DECISIONS.map((d) => fn.decisionMetric(d)),
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: `${api.name} ${type} authorizer: decisions by reason`,
            left: [fn.decisionsByReason()],
            width: 12,
          }),
        );
      }
    }
    if (c.customDomain) {
      const domain = new apigwv2.DomainName(this, 'CustomDomain', {
        domainName: c.customDomain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'CustomDomainCertificate', c.customDomain.certificateArn),
        endpointType: apigwv2.EndpointType.REGIONAL,
        securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      });
      for (const api of c.routeTable.apis) {
        const Id = pascalCase(api.name);
        const stage = stages[api.name];
        const mapping = new apigwv2.CfnApiMapping(this, `${Id}CustomDomainMapping`, {
          domainName: domain.name,
          apiId: stage.apiId,
          stage: stage.stageName,
          apiMappingKey: api.name,
        });
        // The mapping names the domain and the stage by name: both must exist first.
        mapping.node.addDependency(domain, stage.dependable);
        new CfnOutput(this, `${Id}CustomUrl`, {
          value: `https://${c.customDomain.domainName}/${api.name}/`,
          description: `The ${api.name} API on the custom domain`,
        });
      }
      new CfnOutput(this, 'CustomDomainTarget', {
        value: domain.regionalDomainName,
        description: `Point ${c.customDomain.domainName} here (a CNAME, or an alias record with the CustomDomainHostedZone output)`,
      });
      new CfnOutput(this, 'CustomDomainHostedZone', { value: domain.regionalHostedZoneId, description: 'Hosted zone id for an alias record' });
    }
    this.alarms = alarms;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: prefix,
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms, width: 24 })],
        ...dashboardWidgets.map((w) => [w]),
      ],
    });
    this.authorizers = allAuthorizers;
    this.urls = urls;
  }

  private environmentFor(c: AuthzStackConfig, api: ApiSpec, type: LambdaAuthorizerType, identity: TokenIdentity): Record<string, string> {
    const a = c.authorizers;
    const env: Record<string, string> = {
      ...(a.extraEnvironment ?? {}),
      AUTHZ_ISSUER: identity.issuer,
      AUTHZ_ROUTES: authzRoutesFor(api, type),
    };
    // Cognito access tokens have no `aud`: the app clients are matched against `client_id`.
    if (identity.kind === 'pool') env.AUTHZ_CLIENT_ID = identity.clientIds.join(',');
    else env.AUTHZ_AUDIENCE = identity.audience;
    if (a.algorithms?.length) env.AUTHZ_ALGORITHMS = a.algorithms.join(',');
    if (a.contextClaims?.length) env.AUTHZ_CONTEXT_CLAIMS = a.contextClaims.join(',');
    if (a.jwksUri) env.AUTHZ_JWKS_URI = a.jwksUri;
    if (a.introspectionSecretArn) env.AUTHZ_INTROSPECTION_SECRET_ARN = a.introspectionSecretArn;
    if (type === 'request' && a.tokenQueryParam) env.AUTHZ_TOKEN_QUERY_PARAM = a.tokenQueryParam;
    if (c.usagePlan && api.type === 'rest') env.AUTHZ_USAGE_IDENTIFIER_CLAIM = c.usagePlan.claim;
    // Lambda refuses more than 4 KB of variables; the API ARN added later is ~100 bytes, the
    // CA bundle path ~45; the pool's issuer and client ids are tokens here (~80 and ~27 each).
    const later = 160 + (a.caBundle ? 45 : 0) + (identity.kind === 'pool' ? 80 + 27 * identity.clientIds.length : 0);
    const size = Object.entries(env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0) + later;
    if (size > LAMBDA_ENV_LIMIT_BYTES) {
      throw new ConfigError(
        `${api.name} ${type} authorizer: its environment (AUTHZ_ROUTES from routes.json and the settings) is about ${size} bytes; Lambda allows ${LAMBDA_ENV_LIMIT_BYTES}`,
      );
    }
    return env;
  }
}
