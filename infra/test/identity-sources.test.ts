/**
 * Issue 13: the identity sources the CDK app renders are the cache key API Gateway uses; they
 * come from the same settings the authorizers read, and a REST rule set one cached policy cannot
 * state exactly fails `cdk synth` (as it fails the authorizer's cold start).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { httpIdentitySources } from '../lib/http-api';
import { requestIdentitySources } from '../lib/rest-api';
import { apiNamed, identityHeadersFrom, loadRouteTable, restCacheConflict } from '../lib/route-table';
import { synth, table } from './helpers';

const rest = (routes: { route: string; authorizer: string; scopes?: string[] }[], ttl = 300) =>
  table({ apis: { shop: { type: 'rest', audience: 'shop', cacheTtlSeconds: ttl, routes } } });

describe('identity sources from the authorizer settings', () => {
  it('default: the Authorization header', () => {
    assert.deepEqual(identityHeadersFrom(undefined), { token: 'Authorization', bind: undefined });
    assert.deepEqual(identityHeadersFrom({ AUTHZ_TOKEN_HEADER: 'X-Api-Token', AUTHZ_BIND_HEADER: 'x-tenant' }), {
      token: 'X-Api-Token',
      bind: 'x-tenant',
    });
  });

  it('HTTP: token header, binding header, and the route key whenever results are cached', () => {
    const solar = apiNamed(loadRouteTable(), 'solar-system');
    assert.deepEqual(httpIdentitySources(solar), ['$request.header.Authorization', '$context.routeKey']);
    assert.deepEqual(httpIdentitySources(solar, { token: 'X-Api-Token', bind: 'x-tenant' }), [
      '$request.header.X-Api-Token',
      '$request.header.x-tenant',
      '$context.routeKey',
    ]);
    assert.deepEqual(httpIdentitySources({ ...solar, cacheTtlSeconds: 0 }), ['$request.header.Authorization']);
  });

  it('REST REQUEST: token header, binding header, authz stage variables', () => {
    assert.deepEqual(
      requestIdentitySources({
        cacheTtlSeconds: 300,
        stageVariables: { authzRouteSet: 'v2', other: 'x' },
        identityHeaders: { token: 'X-Api-Token', bind: 'x-tenant' },
      }),
      ['method.request.header.X-Api-Token', 'method.request.header.x-tenant', 'stageVariables.authzRouteSet'],
    );
  });

  it('the synthesized authorizers carry them', () => {
    const { template } = synth({ authzEnvironment: { AUTHZ_TOKEN_HEADER: 'X-Api-Token', AUTHZ_BIND_HEADER: 'x-tenant' } }, rest([
      { route: 'GET /items', authorizer: 'request' },
    ]));
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.X-Api-Token,method.request.header.x-tenant',
    });
    const tokenOnly = synth({ authzEnvironment: { AUTHZ_TOKEN_HEADER: 'X-Api-Token' } }, rest([{ route: 'GET /items', authorizer: 'token' }]));
    tokenOnly.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.X-Api-Token',
    });
    const http = synth(
      { authzEnvironment: { AUTHZ_BIND_HEADER: 'x-tenant' } },
      table({ apis: { sky: { type: 'http', audience: 'sky', routes: [{ route: 'GET /a', authorizer: 'http' }] } } }),
    );
    http.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      IdentitySource: ['$request.header.Authorization', '$request.header.x-tenant', '$context.routeKey'],
    });
  });

  it('identity binding on a TOKEN authorizer is refused (it sees no other header)', () => {
    assert.throws(
      () => synth({ authzEnvironment: { AUTHZ_BIND_HEADER: 'x-tenant' } }, rest([{ route: 'GET /items', authorizer: 'token' }])),
      /AUTHZ_BIND_HEADER "x-tenant" needs the request authorizer/,
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

  it('in AUTHZ_ROUTE_SETS fail cdk synth naming the setting and the rule set', () => {
    const sets = JSON.stringify({ v2: [{ route: 'ANY /{proxy+}' }, { route: 'GET /a/{id}' }] });
    assert.throws(
      () => synth({ authzEnvironment: { AUTHZ_ROUTE_SETS: sets } }, rest([{ route: 'GET /items', authorizer: 'request' }])),
      /shop: AUTHZ_ROUTE_SETS: rule set `v2`: rules `ANY \/\{proxy\+\}` and `GET \/a\/\{id\}` cannot share one cached REST policy/,
    );
    synth({ authzEnvironment: { AUTHZ_ROUTE_SETS: JSON.stringify({ v2: [{ route: 'GET /a/{id}' }] }) } }, rest([
      { route: 'GET /items', authorizer: 'request' },
    ]));
  });
});
