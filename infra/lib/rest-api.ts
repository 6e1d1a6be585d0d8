import { Duration, Lazy, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import gatewayResponses from '../gateway-responses.json';
import { type Throttle, type UsagePlanSettings, accessLogGroupName } from './config';
import type { CacheKey } from './authz-config';
import { type ApiSpec, type SenderConstrained, methodOf, pathOf, restCacheConflict, routesGuardedBy } from './route-table';

/** The 401 and 403 answers, one definition with the local mode (`infra/gateway-responses.json`). */
export const GATEWAY_RESPONSES = gatewayResponses.responses;

/**
 * What a client is told on 401 and 403 (`gateway-responses.json` `challenges`): the RFC 6750 §3
 * bearer challenge and, on an API with sender-constrained tokens, the RFC 9449 §7.1 DPoP one
 * with the proof algorithms the authorizers accept.
 */
export function wwwAuthenticate(realm: string, error: 'invalid_token' | 'insufficient_scope', senderConstrained: SenderConstrained = 'off'): string {
  const r = Object.values(GATEWAY_RESPONSES).find((x) => x.error === error);
  if (!r) throw new Error(`gateway-responses.json: no response with error ${error}`);
  const values: Record<string, string> = { realm, error, errorDescription: r.errorDescription, algs: gatewayResponses.dpopAlgs.join(' ') };
  const fill = (template: string) => template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]);
  const challenges = [gatewayResponses.challenges.bearer, ...(senderConstrained !== 'off' ? [gatewayResponses.challenges.dpop] : [])];
  return challenges.map(fill).join(', ');
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
  /**
   * The cache keys of the authorizers (`authz-config`, from each one's environment and these
   * stage variables): their identity sources, as the authorizers read the configuration.
   */
  readonly cacheKeys: Readonly<Partial<Record<'token' | 'request', CacheKey>>>;
  /** Stage variables (the `authz*` ones are in the REQUEST authorizer's cache key). */
  readonly stageVariables?: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Create the account-level API Gateway → CloudWatch Logs role. */
  readonly createCloudWatchRole: boolean;
  /** AWS WAFv2 web ACL (regional) to associate with the stage. */
  readonly webAclArn?: string;
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
  /** Disable the default `execute-api` endpoint (the custom domain's mutual TLS must not be skippable). */
  readonly disableExecuteApiEndpoint?: boolean;
}

/** Headers a browser needs to read an answer (and its challenge) from another origin. */
function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'WWW-Authenticate',
    ...(origin === '*' ? {} : { Vary: 'Origin' }),
  };
}

/**
 * The REST check of routes.json that one cached policy could not answer right: the authorizer
 * refuses the same at cold start (authz-core `Config::check_rest_caching`, which `authz-config`
 * also runs at synth on the whole configuration, rule sets included); this one comes first, to
 * name routes.json.
 */
export function checkRestCaching(api: ApiSpec): void {
  for (const type of ['token', 'request'] as const) {
    const routes = routesGuardedBy(api, type).map((r) => r.route);
    if (routes.length === 0) continue;
    const why = restCacheConflict(routes);
    if (why) throw new Error(`${api.name}: the ${type} authorizer's AUTHZ_ROUTES (from routes.json): ${why}`);
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
    checkRestCaching(api);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      // The API is made below (its stage needs this group): its id is resolved at synth.
      logGroupName: accessLogGroupName(
        props.restApiName,
        Lazy.string({ produce: () => this.restApi.restApiId }),
        props.logRemovalPolicy === RemovalPolicy.RETAIN,
      ),
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.restApi = new apigw.RestApi(this, 'Api', {
      restApiName: props.restApiName,
      description: api.description,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      disableExecuteApiEndpoint: props.disableExecuteApiEndpoint,
      // With a usage plan the key comes from the authorizer's usageIdentifierKey, never a header.
      apiKeySourceType: props.usagePlan ? apigw.ApiKeySourceType.AUTHORIZER : undefined,
      // Preflight: an OPTIONS mock method on every resource, public (browsers send no token).
      defaultCorsPreflightOptions: props.corsOrigin
        ? {
            allowOrigins: [props.corsOrigin],
            // A DPoP client sends its proof in the DPoP header (sender-constrained APIs).
            allowHeaders: ['Authorization', 'Content-Type', ...(api.senderConstrained !== 'off' ? ['DPoP'] : [])],
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

    // Gateway responses (RFC 6750 §3, RFC 9449 §7.1): JSON body and WWW-Authenticate challenges.
    const cors = props.corsOrigin
      ? Object.fromEntries(Object.entries(corsHeaders(props.corsOrigin)).map(([k, v]) => [k, `'${v}'`]))
      : {};
    const errorBody = (error: string) =>
      `{"message":$context.error.messageString,"error":"${error}","requestId":"$context.requestId"}`;
    this.restApi.addGatewayResponse('Unauthorized', {
      type: apigw.ResponseType.UNAUTHORIZED,
      statusCode: String(GATEWAY_RESPONSES.UNAUTHORIZED.statusCode),
      responseHeaders: {
        'WWW-Authenticate': `'${wwwAuthenticate(props.restApiName, 'invalid_token', api.senderConstrained)}'`,
        'Content-Type': "'application/json'",
        ...cors,
      },
      templates: { 'application/json': errorBody('invalid_token') },
    });
    this.restApi.addGatewayResponse('AccessDenied', {
      type: apigw.ResponseType.ACCESS_DENIED,
      statusCode: String(GATEWAY_RESPONSES.ACCESS_DENIED.statusCode),
      responseHeaders: {
        'WWW-Authenticate': `'${wwwAuthenticate(props.restApiName, 'insufficient_scope', api.senderConstrained)}'`,
        'Content-Type': "'application/json'",
        ...cors,
      },
      templates: { 'application/json': errorBody('insufficient_scope') },
    });

    // Every other answer API Gateway makes itself (429 throttled, 403 missing token or invalid API
    // key, 5XX) carries the CORS headers too: its defaults, with the headers added.
    if (props.corsOrigin) {
      this.restApi.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders: cors });
      this.restApi.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, responseHeaders: cors });
    }

    const tokenFn = props.authorizerFunctions.token;
    if (api.routes.some((r) => r.authorizer === 'token')) {
      if (!tokenFn) throw new Error(`${api.name}: routes use the token authorizer but no function was given`);
      this.tokenAuthorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
        handler: tokenFn,
        authorizerName: `${props.restApiName}-token`,
        // The cache key is the token alone: the header the authorizer reads it from.
        identitySource: cacheKeyOf(props, 'token').identitySources.join(','),
        resultsCacheTtl: ttl,
      });
    }
    const requestFn = props.authorizerFunctions.request;
    if (api.routes.some((r) => r.authorizer === 'request')) {
      if (!requestFn) throw new Error(`${api.name}: routes use the request authorizer but no function was given`);
      this.requestAuthorizer = new apigw.RequestAuthorizer(this, 'RequestAuthorizer', {
        handler: requestFn,
        authorizerName: `${props.restApiName}-request`,
        identitySources: [...cacheKeyOf(props, 'request').identitySources],
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

/** The cache key of one of the REST API's authorizers (read from its configuration). */
function cacheKeyOf(props: RestApiFromTableProps, type: 'token' | 'request'): CacheKey {
  const key = props.cacheKeys[type];
  if (!key) throw new Error(`${props.api.name}: routes use the ${type} authorizer but no cache key was given`);
  return key;
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
