import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type Throttle, accessLogGroupName, logGroupNameFor } from './config';
import type { CacheKey } from './authz-config';
import { type ApiSpec, methodOf, pascalCase, pathOf } from './route-table';

/** Properties of {@link HttpApiFromTable}. */
export interface HttpApiFromTableProps {
  /** The API's part of the route table (`type: http`). */
  readonly api: ApiSpec;
  /** Physical API name (stage-named); also the prefix of the backend function's name. */
  readonly httpApiName: string;
  readonly stageName: string;
  /** The `http` Lambda authorizer's function, when routes use it. */
  readonly httpAuthorizerFunction?: lambda.IFunction;
  /** Native JWT authorizer: the same issuer and audience (or app client ids) the Lambda authorizers check. */
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly architecture: lambda.Architecture;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * The `http` authorizer's cache key (`authz-config`, from its environment): its identity
   * sources (token header, binding header, `authz*` stage variables, and `$context.routeKey`
   * whenever results are cached: the authorizer decides per route), as it reads the configuration.
   */
  readonly cacheKey?: CacheKey;
  /** Stage-wide throttling. */
  readonly throttle: Throttle;
  /** Per-route throttling by route key (`GET /planets`). */
  readonly routeThrottles?: Readonly<Record<string, Throttle>>;
  /** CORS origin (one, or `*`): API Gateway answers preflight and adds the headers itself. */
  readonly corsOrigin?: string;
  /** Disable the default `execute-api` endpoint (the custom domain's mutual TLS must not be skippable). */
  readonly disableExecuteApiEndpoint?: boolean;
}

/** A construct id for a route key: `GET /pets/{petId}` → `GetPetsByPetId`. */
export function routeId(route: string): string {
  if (route === '$default') return 'DefaultRoute';
  const segments = pathOf(route)
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith('{') ? `By${pascalCase(s.replace(/[{}]/g, '').replace('+', 'Plus'))}` : pascalCase(s)));
  return pascalCase(methodOf(route).toLowerCase()) + (segments.length > 0 ? segments.join('') : 'Root');
}

/**
 * An HTTP API built from its route table entry: every route to one small inline Node.js
 * backend, guarded by the Lambda authorizer (simple responses), API Gateway's native JWT
 * authorizer, or nothing; access logs on a stage named after the deployment stage.
 */
export class HttpApiFromTable extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly backend: lambda.Function;
  readonly lambdaAuthorizer?: authorizers.HttpLambdaAuthorizer;
  readonly jwtAuthorizer?: authorizers.HttpJwtAuthorizer;
  readonly accessLogGroup: logs.LogGroup;
  /** Invoke URL of the stage (ends with `/`). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: HttpApiFromTableProps) {
    super(scope, id);
    const { api } = props;

    const backendName = `${props.httpApiName}-backend`;
    const backendLogs = new logs.LogGroup(this, 'BackendLogs', {
      logGroupName: logGroupNameFor(`/aws/lambda/${backendName}`, props.logRemovalPolicy === RemovalPolicy.RETAIN),
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    const backendRole = new iam.Role(this, 'BackendRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${backendName}: its own log group only`,
    });
    backendLogs.grantWrite(backendRole);
    this.backend = new lambda.Function(this, 'Backend', {
      functionName: backendName,
      description: `Demo backend of the ${api.name} HTTP API (static data, no dependencies)`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture,
      handler: 'index.handler',
      code: lambda.Code.fromInline(backendSource(api)),
      memorySize: 128,
      timeout: Duration.seconds(3),
      role: backendRole,
      logGroup: backendLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
    });
    const integration = new HttpLambdaIntegration('Backend', this.backend, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });

    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      apiName: props.httpApiName,
      description: api.description,
      createDefaultStage: false,
      disableExecuteApiEndpoint: props.disableExecuteApiEndpoint,
      corsPreflight: props.corsOrigin
        ? {
            allowOrigins: [props.corsOrigin],
            // A DPoP client sends its proof in the DPoP header (sender-constrained APIs).
            allowHeaders: ['authorization', 'content-type', ...(api.senderConstrained !== 'off' ? ['dpop'] : [])],
            allowMethods: [apigwv2.CorsHttpMethod.ANY],
            exposeHeaders: ['www-authenticate'],
            maxAge: Duration.minutes(10),
          }
        : undefined,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: accessLogGroupName(props.httpApiName, this.httpApi.apiId, props.logRemovalPolicy === RemovalPolicy.RETAIN),
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTimeEpoch',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLatency: '$context.responseLatency',
            authorizerStatus: '$context.authorizer.status',
            authorizerLatency: '$context.authorizer.latency',
            authorizerError: '$context.authorizer.error',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const routeSettings = Object.entries(props.routeThrottles ?? {});
    if (routeSettings.length > 0) {
      // RouteSettings is a plain JSON map in CloudFormation: CloudFormation's own key names.
      (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = Object.fromEntries(
        routeSettings.map(([route, t]) => [route, { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit }]),
      );
    }

    if (api.routes.some((r) => r.authorizer === 'http')) {
      if (!props.httpAuthorizerFunction) throw new Error(`${api.name}: routes use the http authorizer but no function was given`);
      if (!props.cacheKey) throw new Error(`${api.name}: routes use the http authorizer but no cache key was given`);
      this.lambdaAuthorizer = new authorizers.HttpLambdaAuthorizer('HttpAuthorizer', props.httpAuthorizerFunction, {
        authorizerName: `${props.httpApiName}-http`,
        responseTypes: [authorizers.HttpLambdaResponseType.SIMPLE],
        identitySource: [...props.cacheKey.identitySources],
        resultsCacheTtl: Duration.seconds(api.cacheTtlSeconds),
      });
    }
    if (api.routes.some((r) => r.authorizer === 'jwt')) {
      this.jwtAuthorizer = new authorizers.HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
        authorizerName: `${props.httpApiName}-jwt`,
        jwtAudience: [...props.jwtAudience],
        identitySource: ['$request.header.Authorization'],
      });
    }

    const ids = new Set<string>();
    for (const route of api.routes) {
      const rid = routeId(route.route);
      if (ids.has(rid)) throw new Error(`${api.name}: two routes map to the construct id ${rid}; rename one path`);
      ids.add(rid);
      const routeKey =
        route.route === '$default'
          ? apigwv2.HttpRouteKey.DEFAULT
          : apigwv2.HttpRouteKey.with(pathOf(route.route), methodOf(route.route) as apigwv2.HttpMethod);
      const authorizer =
        route.authorizer === 'http'
          ? this.lambdaAuthorizer
          : route.authorizer === 'jwt'
            ? this.jwtAuthorizer
            : new apigwv2.HttpNoneAuthorizer();
      const r = new apigwv2.HttpRoute(this, rid, {
        httpApi: this.httpApi,
        routeKey,
        integration,
        authorizer,
        authorizationScopes: route.authorizer === 'jwt' && route.scopes.length > 0 ? [...route.scopes] : undefined,
      });
      // Route settings name the route: it must exist before the stage carries them.
      if (props.routeThrottles?.[route.route]) this.stage.node.addDependency(r);
      if (route.authorizer === 'none') {
        Validations.of(r).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `routes.json marks "${route.route}" public (authorizer "none") on purpose${route.description ? `: ${route.description}` : ''}.`,
        });
      }
    }

    // No required identity source (caching off, the token also taken from the query string):
    // leave the property out rather than empty, as the REST request authorizer does. The
    // authorizer's resource exists once a route has bound it (above).
    if (props.cacheKey && props.cacheKey.identitySources.length === 0) {
      for (const c of this.node.findAll()) {
        if (c instanceof apigwv2.CfnAuthorizer && c.authorizerType === 'REQUEST') c.addPropertyDeletionOverride('IdentitySource');
      }
    }

    this.url = `${this.stage.url}/`;
  }
}

/** The inline backend: static data per route, the caller as the authorizer saw it. */
export function backendSource(api: ApiSpec): string {
  const routes = api.routes.map((r) => ({ route: r.route, authorizer: r.authorizer, scopes: r.scopes }));
  return `'use strict';
const API = ${JSON.stringify({ name: api.name, description: api.description ?? '' })};
const ROUTES = ${JSON.stringify(routes)};
const DATA = {
  'GET /asteroids': ['Ceres', 'Vesta', 'Pallas', 'Hygiea'],
  'GET /planets': ['Mercury', 'Venus', 'Earth', 'Mars', 'Jupiter', 'Saturn', 'Uranus', 'Neptune'],
  'GET /moons': ['Moon', 'Phobos', 'Deimos', 'Io', 'Europa', 'Ganymede', 'Callisto', 'Titan'],
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
exports.handler = async (event) => {
  const routeKey = event.routeKey;
  if (routeKey === 'GET /') {
    const rows = ROUTES.map((r) => '<tr><td><code>' + esc(r.route) + '</code></td><td>' + esc(r.authorizer) + '</td><td>' +
      esc(r.scopes.join(' or ') || (r.authorizer === 'none' ? '' : 'any valid token')) + '</td></tr>').join('');
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!doctype html><html><head><meta charset="utf-8"><title>' + esc(API.name) + '</title></head><body><h1>' +
        esc(API.name) + '</h1><p>' + esc(API.description) + '</p><table><tr><th>route</th><th>authorizer</th><th>scopes</th></tr>' +
        rows + '</table></body></html>',
    };
  }
  const auth = (event.requestContext && event.requestContext.authorizer) || {};
  const caller = auth.lambda ? auth.lambda.sub : auth.jwt ? auth.jwt.claims.sub : undefined;
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api: API.name, route: routeKey, items: DATA[routeKey] || null, caller: caller || null }),
  };
};
`;
}
