/**
 * Issues 13 and 22: the identity sources the CDK app renders are the cache key API Gateway uses;
 * they come from the authorizers' configuration as the authorizers read it (`authz-config`, the
 * cold start's parser: flat variables and `AUTHZ_CONFIG` document keys alike), and what the cold
 * start would refuse (a REST rule set one cached policy cannot state exactly, binding on a TOKEN
 * authorizer, an unknown setting) fails `cdk synth`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { apiNamed, authzRoutesFor, loadRouteTable, restCacheConflict } from '../lib/route-table';
import { readCacheKey, synth, table } from './helpers';

const rest = (routes: { route: string; authorizer: string; scopes?: string[] }[], ttl = 300) =>
  table({ apis: { shop: { type: 'rest', audience: 'shop', cacheTtlSeconds: ttl, routes } } });
const http = () => table({ apis: { sky: { type: 'http', audience: 'sky', routes: [{ route: 'GET /a', authorizer: 'http' }] } } });

/** The same settings, as flat variables and as keys of the AUTHZ_CONFIG document. */
function spellings(flat: Record<string, string>, doc: Record<string, unknown>): [string, Record<string, string>][] {
  return [
    ['flat variables', flat],
    ['AUTHZ_CONFIG', { AUTHZ_CONFIG: JSON.stringify(doc) }],
  ];
}

const authorizerOf = (template: ReturnType<typeof synth>['template'], type: string) =>
  Object.values(template.findResources(type === 'http' ? 'AWS::ApiGatewayV2::Authorizer' : 'AWS::ApiGateway::Authorizer'))
    .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
    .find((p) => type === 'http' || p.Type === type.toUpperCase());

describe('identity sources from the authorizers\' configuration (authz-config)', () => {
  it('an uncached HTTP authorizer that also takes the token from the query string has no identity source, not an empty one', () => {
    const uncached = table({ apis: { sky: { type: 'http', audience: 'sky', cacheTtlSeconds: 0, routes: [{ route: 'GET /a', authorizer: 'http' }] } } });
    const env = { AUTHZ_CONFIG: JSON.stringify({ token_query_param: 'access_token' }) };
    assert.deepEqual(readCacheKey('http', { AUTHZ_ISSUER: 'https://idp.example.com', AUTHZ_AUDIENCE: 'a', ...env }, { cached: false }).identitySources, []);
    const props = authorizerOf(synth({ authzEnvironment: env }, uncached).template, 'http');
    assert.ok(props, 'the HTTP API has its Lambda authorizer');
    assert.equal('IdentitySource' in props, false, JSON.stringify(props));
  });

  it('default: the Authorization header; HTTP adds the route key whenever results are cached', () => {
    const solar = apiNamed(loadRouteTable(), 'solar-system');
    const env = { AUTHZ_ISSUER: 'https://idp.example.com', AUTHZ_AUDIENCE: 'a', AUTHZ_ROUTES: authzRoutesFor(solar, 'http') };
    assert.deepEqual(readCacheKey('http', env, { cached: true }).identitySources, ['$request.header.Authorization', '$context.routeKey']);
    assert.deepEqual(readCacheKey('http', env, { cached: false }).identitySources, ['$request.header.Authorization']);
    assert.deepEqual(readCacheKey('token', env, { cached: true }).identitySources, ['method.request.header.Authorization']);
  });

  it('HTTP: the authz stage variables the authorizer reads are identity sources (issue 22 item 2)', () => {
    const env = { AUTHZ_ISSUER: 'https://idp.example.com', AUTHZ_AUDIENCE: 'a', AUTHZ_ROUTE_SETS: '{"v2":[{"route":"GET /a"}]}' };
    assert.deepEqual(
      readCacheKey('http', env, { cached: true, stageVariables: { authzScopes: 'read', authzRouteSet: 'v2', authzAudience: 'b', color: 'blue' } })
        .identitySources,
      [
        '$request.header.Authorization',
        '$stageVariables.authzAudience',
        '$stageVariables.authzRouteSet',
        '$stageVariables.authzScopes',
        '$context.routeKey',
      ],
    );
    assert.throws(() => readCacheKey('http', env, { cached: true, stageVariables: { authzScope: 'read' } }), /stage variable authzScope is not one the authorizer reads/);
  });

  for (const [spelling, env] of spellings(
    { AUTHZ_TOKEN_HEADER: 'X-Api-Token', AUTHZ_BIND_HEADER: 'X-Tenant-Id', AUTHZ_BIND_CLAIM: 'tenant' },
    { token_header: 'X-Api-Token', bind_header: 'X-Tenant-Id', bind_claim: 'tenant' },
  )) {
    it(`the synthesized REQUEST and HTTP authorizers carry the token and binding headers (${spelling}; issue 22 item 1)`, () => {
      const request = synth({ authzEnvironment: env }, rest([{ route: 'GET /items', authorizer: 'request' }])).template;
      assert.equal(authorizerOf(request, 'request')?.IdentitySource, 'method.request.header.X-Api-Token,method.request.header.X-Tenant-Id');
      const sky = synth({ authzEnvironment: env }, http()).template;
      assert.deepEqual(authorizerOf(sky, 'http')?.IdentitySource, ['$request.header.X-Api-Token', '$request.header.X-Tenant-Id', '$context.routeKey']);
    });

    it(`identity binding on a TOKEN authorizer is refused at synth (${spelling})`, () => {
      assert.throws(
        () => synth({ authzEnvironment: env }, rest([{ route: 'GET /items', authorizer: 'token' }])),
        /shop: AUTHZ_BIND_HEADER `x-tenant-id`: a TOKEN authorizer sees no other header than the token/,
      );
    });
  }

  for (const [spelling, env] of spellings({ AUTHZ_TOKEN_HEADER: 'X-Api-Token' }, { token_header: 'X-Api-Token' })) {
    it(`the TOKEN authorizer is keyed on the configured token header (${spelling})`, () => {
      const { template } = synth({ authzEnvironment: env }, rest([{ route: 'GET /items', authorizer: 'token' }]));
      assert.equal(authorizerOf(template, 'token')?.IdentitySource, 'method.request.header.X-Api-Token');
    });
  }

  it('REST REQUEST: the authz stage variables of the stage, which must be ones the authorizer reads', () => {
    const { template } = synth({ restStageVariables: 'authzScopes=read,color=blue' }, rest([{ route: 'GET /items', authorizer: 'request' }]));
    assert.equal(authorizerOf(template, 'request')?.IdentitySource, 'method.request.header.Authorization,stageVariables.authzScopes');
    assert.throws(
      () => synth({ restStageVariables: 'authzScope=read' }, rest([{ route: 'GET /items', authorizer: 'request' }])),
      /shop: stage variable authzScope is not one the authorizer reads/,
    );
    assert.throws(
      () => synth({ restStageVariables: 'authzRouteSet=v9' }, rest([{ route: 'GET /items', authorizer: 'request' }])),
      /shop: stage variable authzRouteSet names rule set `v9`, which AUTHZ_ROUTE_SETS does not define/,
    );
  });

  it('a stage audience or scope list that reads as empty is refused at synth (issue 22 item 3)', () => {
    for (const name of ['authzAudience', 'authzScopes']) {
      assert.throws(
        () => readCacheKey('request', { AUTHZ_ISSUER: 'https://idp.example.com', AUTHZ_CLIENT_ID: 'app' }, { cached: true, stageVariables: { [name]: ',' } }),
        new RegExp(`stage variable ${name} is set but lists nothing`),
      );
    }
  });

  it('refuses at synth what the cold start refuses: unknown settings, bad values, AUTHZ_CONFIG_FILE', () => {
    assert.throws(() => synth({ authzEnvironment: { AUTHZ_TOKEN_HEADERS: 'x' } }), /unknown setting AUTHZ_TOKEN_HEADERS \(did you mean AUTHZ_TOKEN_HEADER\?\)/);
    assert.throws(
      () => synth({ authzEnvironment: { AUTHZ_CONFIG: '{"token_header":"not a header"}' } }),
      /AUTHZ_CONFIG key `token_header`: `not a header` is not a header name/,
    );
    assert.throws(() => synth({ authzEnvironment: { AUTHZ_CONFIG: '{"tokenHeader":"x"}' } }), /AUTHZ_CONFIG key `tokenHeader`: at `tokenHeader`: unknown field/);
    assert.throws(() => synth({ authzEnvironment: { AUTHZ_CONFIG_FILE: '/var/task/authz.json' } }), /AUTHZ_CONFIG_FILE names a file in the function's filesystem/);
    // What the app generates is read too: the stack's own user pool (deploy-time values) passes.
    synth({ authzEnvironment: { AUTHZ_CONFIG: JSON.stringify({ token_header: 'X-Api-Token' }) } }).template.hasResourceProperties(
      'AWS::ApiGateway::Authorizer',
      { Type: 'TOKEN', IdentitySource: 'method.request.header.X-Api-Token' },
    );
  });
});

describe('REST rule sets one cached policy cannot state exactly', () => {
  it('are found by the same rule as authz-core (Rules::rest_cache_conflict)', () => {
    assert.equal(restCacheConflict(['GET /pets', 'GET /pets/{petId}', 'GET /pets/mine', 'ANY /orders/{orderId}']), undefined);
    assert.equal(restCacheConflict(['GET /pets/{petId}', 'ANY /pets/{petId}']), undefined);
    assert.equal(restCacheConflict(['ANY /{proxy+}', 'GET /health']), undefined);
    assert.equal(restCacheConflict(['GET /a/{x}', 'POST /a/{x}/b']), undefined);
    for (const bad of [
      ['GET /pets/{petId}', 'GET /pets/{petId}/photos'],
      ['ANY /{proxy+}', 'GET /pets/{petId}'],
      ['GET /{a}', 'GET /pets/{petId}'],
    ]) {
      assert.match(restCacheConflict(bad) ?? '', /cannot share one cached REST policy/, bad.join(' + '));
    }
    assert.match(restCacheConflict(['GET /pets', 'GET /pets']) ?? '', /listed twice/);
  });

  it('give the golden verdicts and messages, as authz-core does (tests/golden/rest-cache-conflicts.json)', () => {
    const golden = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'tests', 'golden', 'rest-cache-conflicts.json'), 'utf8')) as {
      cases: { routes: string[]; conflict: string | null }[];
    };
    assert.ok(golden.cases.length >= 8);
    for (const c of golden.cases) assert.equal(restCacheConflict(c.routes) ?? null, c.conflict, c.routes.join(' + '));
  });

  it('fail cdk synth naming the setting and the rules, whatever the TTL (the authorizer cannot know it)', () => {
    for (const ttl of [300, 0]) {
      assert.throws(
        () =>
          synth({}, rest([
            { route: 'GET /pets/{petId}', authorizer: 'token', scopes: ['read'] },
            { route: 'GET /pets/{petId}/photos', authorizer: 'token', scopes: ['admin'] },
          ], ttl)),
        /shop: the token authorizer's AUTHZ_ROUTES \(from routes.json\): rules `GET \/pets\/\{petId\}` and `GET \/pets\/\{petId\}\/photos` cannot share one cached REST policy/,
      );
    }
    // Split over the two REST authorizers, each set is exact.
    synth({}, rest([
      { route: 'GET /pets/{petId}', authorizer: 'token', scopes: ['read'] },
      { route: 'GET /pets/{petId}/photos', authorizer: 'request', scopes: ['admin'] },
    ]));
  });

  it('in AUTHZ_ROUTE_SETS (either spelling) fail cdk synth naming the setting and the rule set', () => {
    const sets = { v2: [{ route: 'ANY /{proxy+}' }, { route: 'GET /a/{id}' }] };
    for (const [, env] of spellings({ AUTHZ_ROUTE_SETS: JSON.stringify(sets) }, { route_sets: sets })) {
      assert.throws(
        () => synth({ authzEnvironment: env }, rest([{ route: 'GET /items', authorizer: 'request' }])),
        /shop: AUTHZ_ROUTE_SETS: rule set `v2`: rules `ANY \/\{proxy\+\}` and `GET \/a\/\{id\}` cannot share one cached REST policy/,
      );
      assert.throws(
        () => synth({ authzEnvironment: env }, rest([{ route: 'GET /items', authorizer: 'token' }])),
        /shop: AUTHZ_ROUTE_SETS: /,
      );
    }
    synth({ authzEnvironment: { AUTHZ_ROUTE_SETS: JSON.stringify({ v2: [{ route: 'GET /a/{id}' }] }) } }, rest([
      { route: 'GET /items', authorizer: 'request' },
    ]));
  });
});
