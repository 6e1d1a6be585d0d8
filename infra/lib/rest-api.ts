import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import gatewayResponses from '../gateway-responses.json';
import { type Throttle, type UsagePlanSettings, logGroupNameFor } from './config';
import {
  type ApiSpec,
  DEFAULT_TOKEN_HEADER,
  type IdentityHeaders,
  methodOf,
  pathOf,
  restCacheConflict,
  routesGuardedBy,
} from './route-table';

/** The 401 and 403 answers, one definition with the local mode (`infra/gateway-responses.json`). */
export const GATEWAY_RESPONSES = gatewayResponses.responses;

/** RFC 6750 §3: what a client is told on 401 and 403. */
export function wwwAuthenticate(realm: string, error: 'invalid_token' | 'insufficient_scope'): string {
  const r = Object.values(GATEWAY_RESPONSES).find((x) => x.error === error);
  if (!r) throw new Error(`gateway-responses.json: no response with error ${error}`);
  return `Bearer realm="${realm}", error="${error}", error_description="${r.errorDescription}"`;
}

/** Properties of {@link RestApiFromTable}. */
export interface RestApiFromTableProps {
  /** The API's part of the route table (`type: rest`). */
  readonly api: ApiSpec;
  /** Physical API name (stage-named). */
  readonly restApiName: string;
  /** API Gateway stage name. */
  readonly stageName: string;
  /** The Lambda authorizers this API's routes use. */
  readonly authorizerFunctions: Readonly<Partial<Record<'token' | 'request', lambda.IFunction>>>;
  /** REQUEST authorizer reads the token from this query parameter too (needs cache TTL 0). */
  readonly tokenQueryParam?: string;
  /** Stage variables; `authz*` ones are read by the REQUEST authorizer, so they join its identity sources. */
  readonly stageVariables?: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Create the account-level API Gateway → CloudWatch Logs role. */
  readonly createCloudWatchRole: boolean;
  /** AWS WAFv2 web ACL (regional) to associate with the stage. */
  readonly webAclArn?: string;
  /** The headers the authorizers read (`AUTHZ_TOKEN_HEADER`, `AUTHZ_BIND_HEADER`): identity sources. */
  readonly identityHeaders?: IdentityHeaders;
  /** The rule sets of `AUTHZ_ROUTE_SETS` (name → routes), checked like routes.json's. */
  readonly routeSets?: Readonly<Record<string, readonly string[]>>;
  /** Stage-wide throttling. */
  readonly throttle: Throttle;
  /** Per-route throttling by route key (`GET /pets`). */
  readonly routeThrottles?: Readonly<Record<string, Throttle>>;
  /** X-Ray tracing of the stage. */
  readonly tracing: boolean;
  /** Usage plan with API keys from the authorizer (`apiKeySource: AUTHORIZER`). */
  readonly usagePlan?: UsagePlanSettings;
  /** CORS origin (one, or `*`): preflight, allow-origin on every answer, WWW-Authenticate exposed. */
  readonly corsOrigin?: string;
}

/** Headers a browser needs to read an answer (and its challenge) from another origin. */
function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'WWW-Authenticate',
    ...(origin === '*' ? {} : { Vary: 'Origin' }),
  };
}

/** The identity sources of the REQUEST authorizer: what it reads, so the cache key covers it
 *  (the token header, the identity-binding header, the `authz*` stage variables). */
export function requestIdentitySources(props: {
  readonly cacheTtlSeconds: number;
  readonly tokenQueryParam?: string;
  readonly stageVariables?: Readonly<Record<string, string>>;
  readonly identityHeaders?: IdentityHeaders;
}): string[] {
  const stageVars = Object.keys(props.stageVariables ?? {})
    .filter((k) => k.startsWith('authz'))
    .sort()
    .map((k) => apigw.IdentitySource.stageVariable(k));
  if (props.tokenQueryParam) {
    if (props.cacheTtlSeconds !== 0) {
      throw new Error(
        `the REQUEST authorizer reads the token from the header or the query parameter "${props.tokenQueryParam}"; ` +
          'with caching on, every identity source is required (a request with only one would get 401 without the authorizer being called). ' +
          'Set cacheTtlSeconds to 0 for this API, or drop tokenQueryParam.',
      );
    }
    // Caching off: API Gateway invokes the authorizer whatever is present; it answers 401 itself.
    return [];
  }
  const headers = props.identityHeaders ?? { token: DEFAULT_TOKEN_HEADER };
  const bind = headers.bind ? [apigw.IdentitySource.header(headers.bind)] : [];
  return [apigw.IdentitySource.header(headers.token), ...bind, ...stageVars];
}

/**
 * The REST checks of a configuration that one cached policy could not answer right: the
 * authorizer refuses the same at cold start (authz-core `Authorizer::check_rest_caching`), so
 * `cdk synth` fails first, naming the setting.
 */
export function checkRestCaching(
  api: ApiSpec,
  identityHeaders?: IdentityHeaders,
  routeSets: Readonly<Record<string, readonly string[]>> = {},
  stageVariables: Readonly<Record<string, string>> = {},
): void {
  // A TOKEN event carries no stage variables: the token authorizer would silently skip
  // `authzScopes` / `authzRouteSet` / `authzAudience` (and can never select a rule set).
  if (routesGuardedBy(api, 'token').length > 0) {
    const authz = Object.keys(stageVariables).filter((k) => k.startsWith('authz')).sort();
    if (authz.length > 0) {
      throw new Error(
        `${api.name}: stage variable ${authz.join(', ')} would not apply to the token authorizer's routes ` +
          '(a TOKEN event carries no stage variables); use authorizer "request" for them',
      );
    }
    if (Object.keys(routeSets).length > 0) {
      throw new Error(
        `${api.name}: AUTHZ_ROUTE_SETS needs the request authorizer: the token authorizer gets no stage variables, so no rule set could be selected`,
      );
    }
  }
  if (api.routes.some((r) => r.authorizer === 'token' || r.authorizer === 'request')) {
    for (const name of Object.keys(routeSets).sort()) {
      const why = restCacheConflict(routeSets[name]);
      if (why) throw new Error(`${api.name}: AUTHZ_ROUTE_SETS: rule set \`${name}\`: ${why}`);
    }
  }
  for (const type of ['token', 'request'] as const) {
    const routes = routesGuardedBy(api, type).map((r) => r.route);
    if (routes.length === 0) continue;
    const why = restCacheConflict(routes);
    if (why) throw new Error(`${api.name}: the ${type} authorizer's AUTHZ_ROUTES (from routes.json): ${why}`);
    if (type === 'token' && identityHeaders?.bind) {
      throw new Error(
        `${api.name}: AUTHZ_BIND_HEADER "${identityHeaders.bind}" needs the request authorizer: a TOKEN authorizer sees no other header, ` +
          'and its cache is keyed on the token alone; use authorizer "request" for these routes',
      );
    }
  }
}

/**
 * A REST API built from its route table entry: one method per route, guarded by the TOKEN or
 * REQUEST Lambda authorizer or public, answered by mock integrations (self-contained), with
 * RFC 6750 gateway responses, access logs and error-level execution logs.
 */
export class RestApiFromTable extends Construct {
  readonly restApi: apigw.RestApi;
  readonly tokenAuthorizer?: apigw.TokenAuthorizer;
  readonly requestAuthorizer?: apigw.RequestAuthorizer;
  readonly usagePlan?: apigw.UsagePlan;
  readonly accessLogGroup: logs.LogGroup;
  /**
   * `API-Gateway-Execution-Logs_{restApiId}/{stage}`, created by the stack before the stage:
   * otherwise API Gateway creates it itself, outside the template, without retention, and it
   * outlives `cdk destroy`.
   */
  readonly executionLogGroup: logs.LogGroup;
  /** Invoke URL of the stage (ends with `/`). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RestApiFromTableProps) {
    super(scope, id);
    const { api } = props;
    const ttl = Duration.seconds(api.cacheTtlSeconds);
    checkRestCaching(api, props.identityHeaders, props.routeSets, props.stageVariables);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: logGroupNameFor(`/aws/apigateway/${props.restApiName}/access`, props.logRemovalPolicy === RemovalPolicy.RETAIN),
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.restApi = new apigw.RestApi(this, 'Api', {
      restApiName: props.restApiName,
      description: api.description,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // With a usage plan the key comes from the authorizer's usageIdentifierKey, never a header.
      apiKeySourceType: props.usagePlan ? apigw.ApiKeySourceType.AUTHORIZER : undefined,
      // Preflight: an OPTIONS mock method on every resource, public (browsers send no token).
      defaultCorsPreflightOptions: props.corsOrigin
        ? {
            allowOrigins: [props.corsOrigin],
            allowHeaders: ['Authorization', 'Content-Type'],
            allowMethods: [...new Set(api.routes.map((r) => methodOf(r.route)))].flatMap((m) => (m === 'ANY' ? apigw.Cors.ALL_METHODS : [m])),
            exposeHeaders: ['WWW-Authenticate'],
            maxAge: Duration.minutes(10),
          }
        : undefined,
      cloudWatchRole: props.createCloudWatchRole,
      cloudWatchRoleRemovalPolicy: props.createCloudWatchRole ? RemovalPolicy.RETAIN : undefined,
      deployOptions: {
        stageName: props.stageName,
        variables: props.stageVariables ? { ...props.stageVariables } : undefined,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTimeEpoch',
            method: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            status: '$context.status',
            responseLatency: '$context.responseLatency',
            principalId: '$context.authorizer.principalId',
            authorizerStatus: '$context.authorizer.status',
            authorizerLatency: '$context.authorizer.latency',
            authorizerError: '$context.authorizer.error',
            errorType: '$context.error.responseType',
          }),
        ),
        // Errors only, never request/response bodies: data trace would log the Authorization header.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        tracingEnabled: props.tracing,
        // Route overrides: API Gateway's method settings key `/{resource path}/{METHOD}`.
        methodOptions: Object.fromEntries(
          Object.entries(props.routeThrottles ?? {}).map(([route, t]) => [
            // An ANY method's settings are the method setting for every method (`*`).
            `${pathOf(route)}/${methodOf(route) === 'ANY' ? '*' : methodOf(route)}`,
            { throttlingRateLimit: t.rateLimit, throttlingBurstLimit: t.burstLimit },
          ]),
        ),
      },
    });

    // Execution logs: the name API Gateway writes to (the API id makes it unique per stack, so a
    // kept one never blocks a re-created stage), with retention and removal like the others.
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.restApi.restApiId}/${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.restApi.deploymentStage.node.addDependency(this.executionLogGroup);

    // The named output of the stack (<Api>Url) replaces the RestApi's own.
    this.restApi.node.tryRemoveChild('Endpoint');
    if (props.createCloudWatchRole) {
      const cwRole = this.restApi.node.findChild('CloudWatchRole');
      Validations.of(cwRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway uses to write REST access and execution logs to any log group of the account; AWS maintains this policy for exactly that purpose, and it is created only on request (createApiGatewayCloudWatchRole).',
      });
    }

    const validator = this.restApi.addRequestValidator('RequestValidator', {
      requestValidatorName: `${props.restApiName}-parameters`,
      validateRequestParameters: true,
      validateRequestBody: true,
    });

    const stage = this.restApi.deploymentStage;
    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', { resourceArn: stage.stageArn, webAclArn: props.webAclArn });
    } else {
      Validations.of(stage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'A web ACL is an account-level choice with its own cost and rules; pass one with the webAclArn setting to associate it. ' +
          'The authorizers themselves bound what a request can cost (token size limit before decoding, cached decisions).',
      });
    }

    // Gateway responses (RFC 6750 §3): JSON body and a WWW-Authenticate challenge.
    const cors = props.corsOrigin
      ? Object.fromEntries(Object.entries(corsHeaders(props.corsOrigin)).map(([k, v]) => [k, `'${v}'`]))
      : {};
    const errorBody = (error: string) =>
      `{"message":$context.error.messageString,"error":"${error}","requestId":"$context.requestId"}`;
    this.restApi.addGatewayResponse('Unauthorized', {
      type: apigw.ResponseType.UNAUTHORIZED,
      statusCode: String(GATEWAY_RESPONSES.UNAUTHORIZED.statusCode),
      responseHeaders: {
        'WWW-Authenticate': `'${wwwAuthenticate(props.restApiName, 'invalid_token')}'`,
        'Content-Type': "'application/json'",
        ...cors,
      },
      templates: { 'application/json': errorBody('invalid_token') },
    });
    this.restApi.addGatewayResponse('AccessDenied', {
      type: apigw.ResponseType.ACCESS_DENIED,
      statusCode: String(GATEWAY_RESPONSES.ACCESS_DENIED.statusCode),
      responseHeaders: {
        'WWW-Authenticate': `'${wwwAuthenticate(props.restApiName, 'insufficient_scope')}'`,
        'Content-Type': "'application/json'",
        ...cors,
      },
      templates: { 'application/json': errorBody('insufficient_scope') },
    });

    const tokenFn = props.authorizerFunctions.token;
    if (api.routes.some((r) => r.authorizer === 'token')) {
      if (!tokenFn) throw new Error(`${api.name}: routes use the token authorizer but no function was given`);
      this.tokenAuthorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
        handler: tokenFn,
        authorizerName: `${props.restApiName}-token`,
        // The cache key is the token alone: the header the authorizer reads it from.
        identitySource: apigw.IdentitySource.header(props.identityHeaders?.token ?? DEFAULT_TOKEN_HEADER),
        resultsCacheTtl: ttl,
      });
    }
    const requestFn = props.authorizerFunctions.request;
    if (api.routes.some((r) => r.authorizer === 'request')) {
      if (!requestFn) throw new Error(`${api.name}: routes use the request authorizer but no function was given`);
      this.requestAuthorizer = new apigw.RequestAuthorizer(this, 'RequestAuthorizer', {
        handler: requestFn,
        authorizerName: `${props.restApiName}-request`,
        identitySources: requestIdentitySources({
          cacheTtlSeconds: api.cacheTtlSeconds,
          tokenQueryParam: props.tokenQueryParam,
          stageVariables: props.stageVariables,
          identityHeaders: props.identityHeaders,
        }),
        resultsCacheTtl: ttl,
      });
      if ((this.requestAuthorizer.node.defaultChild as apigw.CfnAuthorizer).identitySource === '') {
        // No required identity source (caching off): leave the property out rather than empty.
        (this.requestAuthorizer.node.defaultChild as apigw.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
      }
    }

    for (const route of api.routes) {
      const resource = this.restApi.root.resourceForPath(pathOf(route.route));
      const authorizer =
        route.authorizer === 'token' ? this.tokenAuthorizer : route.authorizer === 'request' ? this.requestAuthorizer : undefined;
      const method = resource.addMethod(methodOf(route.route), mockIntegration(api, route.route, props.corsOrigin), {
        authorizer,
        authorizationType: authorizer ? apigw.AuthorizationType.CUSTOM : apigw.AuthorizationType.NONE,
        // Metered routes: the key is the authorizer's usageIdentifierKey; public routes stay free.
        apiKeyRequired: props.usagePlan !== undefined && authorizer !== undefined ? true : undefined,
        requestValidator: validator,
        methodResponses: [
          {
            statusCode: '200',
            responseParameters: {
              'method.response.header.Content-Type': true,
              ...Object.fromEntries(Object.keys(props.corsOrigin ? corsHeaders(props.corsOrigin) : {}).map((h) => [`method.response.header.${h}`, true])),
            },
          },
        ],
      });
      if (!authorizer) {
        Validations.of(method).acknowledge(
          {
            id: 'AwsSolutions-APIG4',
            reason: `routes.json marks "${route.route}" public (authorizer "none") on purpose${route.description ? `: ${route.description}` : ''}.`,
          },
          {
            id: 'AwsSolutions-COG4',
            reason: 'Public route by design (routes.json authorizer "none"): no authorizer of any kind.',
          },
        );
      } else {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason: `Guarded by this project's ${route.authorizer.toUpperCase()} Lambda authorizer (the product), not a Cognito user pool authorizer.`,
        });
      }
    }

    // The preflight methods CDK added: public by necessity (a browser's preflight carries no token).
    for (const m of this.restApi.methods.filter((x) => x.httpMethod === 'OPTIONS')) {
      Validations.of(m).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason: `CORS preflight for ${props.corsOrigin} (corsOrigin): browsers send OPTIONS without credentials; the mock answer carries only the CORS headers, no data.`,
        },
        { id: 'AwsSolutions-COG4', reason: 'CORS preflight (corsOrigin): no authorizer can apply to a request without credentials.' },
      );
    }

    if (props.usagePlan) {
      this.usagePlan = this.restApi.addUsagePlan('UsagePlan', {
        name: `${props.restApiName}-usage`,
        description: `Per-client quota of ${props.restApiName}; API keys from the authorizer (claim ${props.usagePlan.claim})`,
        throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
        quota: { limit: props.usagePlan.quotaPerDay, period: apigw.Period.DAY },
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
    }

    this.url = this.restApi.url;
  }
}

/** A mock integration answering 200 with a small JSON document (HTML for `GET /`). */
function mockIntegration(api: ApiSpec, route: string, corsOrigin?: string): apigw.MockIntegration {
  const landing = route === 'GET /';
  const body = landing
    ? landingPage(api)
    : JSON.stringify({
        api: api.name,
        route,
        path: '$util.escapeJavaScript($context.path)',
        // Values an authorizer (or a token) controls: escaped for a JSON string.
        principalId: '$util.escapeJavaScript($context.authorizer.principalId)',
        scope: '$util.escapeJavaScript($context.authorizer.scope)',
        requestId: '$context.requestId',
      });
  return new apigw.MockIntegration({
    passthroughBehavior: apigw.PassthroughBehavior.NEVER,
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    integrationResponses: [
      {
        statusCode: '200',
        responseParameters: {
          'method.response.header.Content-Type': landing ? "'text/html; charset=utf-8'" : "'application/json'",
          ...Object.fromEntries(
            Object.entries(corsOrigin ? corsHeaders(corsOrigin) : {}).map(([h, v]) => [`method.response.header.${h}`, `'${v}'`]),
          ),
        },
        responseTemplates: { 'application/json': body },
      },
    ],
  });
}

/** HTML escaping that is also inert in a Velocity mapping template (`$` and `#` too). */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"'$#]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The public landing page: what each route needs, from the route table. */
export function landingPage(api: ApiSpec): string {
  const rows = api.routes
    .map(
      (r) =>
        `<tr><td><code>${escapeHtml(r.route)}</code></td><td>${escapeHtml(r.authorizer)}</td><td>${escapeHtml(
          r.scopes.join(' or ') || (r.authorizer === 'none' ? '' : 'any valid token'),
        )}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(api.name)}</title></head><body><h1>${escapeHtml(
    api.name,
  )}</h1><p>${escapeHtml(api.description ?? '')}</p><table><tr><th>route</th><th>authorizer</th><th>scopes</th></tr>${rows}</table></body></html>`;
}
