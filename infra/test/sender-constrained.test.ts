/**
 * Sender-constrained tokens (DPoP, certificate-bound) from routes.json's `senderConstrained`:
 * the authorizers' AUTHZ_SENDER_CONSTRAINED, what synth refuses with it (caching, the TOKEN
 * authorizer, the native JWT authorizer), the stage's DPoP replay table and the one grant on it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import gatewayResponses from '../gateway-responses.json';
import { CARGO_LAMBDA_FLAGS } from '../lib/authorizer-function';
import { GENERATED_VARIABLES } from '../lib/config';
import { REPLAY_EXPIRES_ATTRIBUTE, REPLAY_KEY_ATTRIBUTE } from '../lib/replay-table';
import { wwwAuthenticate } from '../lib/rest-api';
import { RouteTableError, type SenderConstrained, loadRouteTable } from '../lib/route-table';
import { only, resources, synth, table } from './helpers';

/** A REST API and an HTTP API with sender-constrained tokens, uncached, and one without. */
function boundTable(mode: SenderConstrained = 'require', extra: Record<string, unknown> = {}) {
  return table({
    apis: {
      shop: {
        type: 'rest',
        audience: 'shop',
        cacheTtlSeconds: 0,
        senderConstrained: mode,
        routes: [
          { route: 'GET /', authorizer: 'none' },
          { route: 'GET /items', authorizer: 'request', scopes: ['read'] },
        ],
      },
      sky: {
        type: 'http',
        audience: 'sky',
        cacheTtlSeconds: 0,
        senderConstrained: mode,
        routes: [{ route: 'GET /stars', authorizer: 'http' }],
      },
      open: {
        type: 'http',
        audience: 'open',
        routes: [
          { route: 'GET /a', authorizer: 'http' },
          { route: 'GET /b', authorizer: 'jwt' },
        ],
      },
      ...extra,
    },
  });
}

describe('routes.json senderConstrained', () => {
  it('is off unless the table says, and read as written', () => {
    for (const api of loadRouteTable().apis) assert.equal(api.senderConstrained, 'off', api.name);
    const t = boundTable('accept');
    assert.deepEqual(
      t.apis.map((a) => [a.name, a.senderConstrained]),
      [
        ['shop', 'accept'],
        ['sky', 'accept'],
        ['open', 'off'],
      ],
    );
  });

  it('refuses a native JWT route on a sender-constrained API (it checks no proof)', () => {
    assert.throws(
      () =>
        table({
          apis: {
            sky: { type: 'http', audience: 'sky', cacheTtlSeconds: 0, senderConstrained: 'accept', routes: [{ route: 'GET /b', authorizer: 'jwt' }] },
          },
        }),
      (e: unknown) =>
        e instanceof RouteTableError &&
        e.pointers.includes('/apis/sky/routes/0') &&
        /cannot check DPoP proofs or client certificates \(senderConstrained "accept" on the API\); use authorizer "http"/.test(e.message),
    );
  });

  it('AUTHZ_SENDER_CONSTRAINED and AUTHZ_DPOP_REPLAY_TABLE come from routes.json only, never from authzEnvironment', () => {
    assert.ok(GENERATED_VARIABLES.includes('AUTHZ_SENDER_CONSTRAINED'));
    assert.ok(GENERATED_VARIABLES.includes('AUTHZ_DPOP_REPLAY_TABLE'));
    assert.throws(() => synth({ authzEnvironment: '{"AUTHZ_SENDER_CONSTRAINED":"require"}' }), /AUTHZ_SENDER_CONSTRAINED is generated/);
  });
});

describe('synth refuses what a sender-constrained authorizer cannot do', () => {
  it('caching: the cold start reader refuses it, and the message names routes.json senderConstrained and cacheTtlSeconds', () => {
    const cached = table({
      apis: {
        shop: { type: 'rest', audience: 'shop', senderConstrained: 'require', routes: [{ route: 'GET /items', authorizer: 'request' }] },
      },
    });
    assert.throws(
      () => synth({}, cached),
      (e: unknown) => {
        const m = (e as Error).message;
        return (
          // The authorizers' own reason (Config::cache_key through authz-config) …
          /AUTHZ_SENDER_CONSTRAINED `require`: a DPoP proof differs on every request/.test(m) &&
          // … and where routes.json says it.
          m.includes(`routes.json's apis.shop.senderConstrained "require", with apis.shop.cacheTtlSeconds 300`)
        );
      },
    );
    const cachedHttp = table({
      apis: { sky: { type: 'http', audience: 'sky', cacheTtlSeconds: 60, senderConstrained: 'accept', routes: [{ route: 'GET /a', authorizer: 'http' }] } },
    });
    assert.throws(() => synth({}, cachedHttp), /AUTHZ_SENDER_CONSTRAINED `accept`.*apis\.sky\.senderConstrained "accept", with apis\.sky\.cacheTtlSeconds 60/s);
  });

  it('sender constraints from elsewhere than routes.json: AUTHZ_PROFILE=fapi2 (implies require) or the AUTHZ_CONFIG document', () => {
    assert.throws(
      () => synth({ authzEnvironment: '{"AUTHZ_PROFILE":"fapi2"}' }),
      (e: unknown) =>
        /AUTHZ_SENDER_CONSTRAINED `off`: AUTHZ_PROFILE fapi2 requires sender-constrained tokens/.test((e as Error).message) &&
        /routes\.json's apis\.pet-store\.senderConstrained "off"/.test((e as Error).message),
    );
    assert.throws(
      () => synth({ authzEnvironment: JSON.stringify({ AUTHZ_CONFIG: JSON.stringify({ sender_constrained: 'require' }) }) }),
      /AUTHZ_SENDER_CONSTRAINED and AUTHZ_CONFIG key `sender_constrained` are both set.*routes\.json's apis\.pet-store\.senderConstrained "off"/s,
    );
  });

  it('the TOKEN authorizer (one header, no proof, no certificate), even uncached', () => {
    const t = table({
      apis: { shop: { type: 'rest', audience: 'shop', cacheTtlSeconds: 0, senderConstrained: 'accept', routes: [{ route: 'GET /items', authorizer: 'token' }] } },
    });
    assert.throws(() => synth({}, t), /a TOKEN authorizer sees only the token header.*apis\.shop\.senderConstrained "accept"/s);
  });
});

describe('a stage with sender-constrained APIs', () => {
  const { stack, template } = synth({}, boundTable());
  const fn = (name: string) => only(template, 'AWS::Lambda::Function', (p) => p.FunctionName === name);
  const tableId = Object.keys(resources(template, 'AWS::DynamoDB::Table'))[0];

  it('gives their authorizers AUTHZ_SENDER_CONSTRAINED and the replay table, and the others neither', () => {
    for (const name of ['ApiAuthz-dev-shop-request', 'ApiAuthz-dev-sky-http']) {
      const vars = fn(name).props.Environment.Variables;
      assert.equal(vars.AUTHZ_SENDER_CONSTRAINED, 'require', name);
      assert.deepEqual(vars.AUTHZ_DPOP_REPLAY_TABLE, { Ref: tableId }, name);
    }
    const open = fn('ApiAuthz-dev-open-http').props.Environment.Variables;
    // Written as off: a configuration turning it on elsewhere is then refused (below).
    assert.equal(open.AUTHZ_SENDER_CONSTRAINED, 'off');
    assert.equal(open.AUTHZ_DPOP_REPLAY_TABLE, undefined);
  });

  it('makes one on-demand table keyed on proof, items expiring by expires_at, removed with the stage', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: 'ApiAuthz-dev-dpop-replay',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: REPLAY_KEY_ATTRIBUTE, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: REPLAY_KEY_ATTRIBUTE, AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: REPLAY_EXPIRES_ATTRIBUTE, Enabled: true },
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
    assert.equal(stack.replayTable !== undefined, true);
    // The attribute names are authz-core's (replay.rs KEY_ATTRIBUTE, EXPIRES_ATTRIBUTE).
    assert.deepEqual([REPLAY_KEY_ATTRIBUTE, REPLAY_EXPIRES_ATTRIBUTE], ['proof', 'expires_at']);
  });

  it('grants exactly dynamodb:PutItem on exactly that table to exactly those authorizers', () => {
    const grants = Object.entries(resources(template, 'AWS::IAM::Policy')).flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Record<string, any>[])
        .filter((s) => JSON.stringify(s).includes('dynamodb'))
        .map((s) => ({ roles: p.Properties.Roles as unknown[], statement: s })),
    );
    assert.equal(grants.length, 2, JSON.stringify(grants));
    for (const g of grants) {
      assert.deepEqual(g.statement, {
        Sid: 'RecordDpopProofs',
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      });
    }
    const rolesWithGrant = grants.flatMap((g) => g.roles.map((r) => (r as { Ref: string }).Ref)).sort();
    const expected = [stack.authorizers.shop.request!, stack.authorizers.sky.http!].map((f) => stack.getLogicalId(f.role.node.defaultChild as never)).sort();
    assert.deepEqual(rolesWithGrant, expected);
  });

  it('builds those authorizers with the replay-store feature only, the others without the AWS SDK', () => {
    const flags = (api: string, type: 'request' | 'http') => stack.authorizers[api][type]!.buildFlags;
    assert.deepEqual(flags('shop', 'request'), [...CARGO_LAMBDA_FLAGS, '--no-default-features', '--features', 'request-authorizer/replay-store']);
    assert.deepEqual(flags('sky', 'http'), [...CARGO_LAMBDA_FLAGS, '--no-default-features', '--features', 'http-authorizer/replay-store']);
    assert.deepEqual(flags('open', 'http'), [...CARGO_LAMBDA_FLAGS, '--no-default-features']);
  });

  it('makes no table for a stage without sender-constrained APIs', () => {
    const plain = synth();
    plain.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    assert.equal(plain.stack.replayTable, undefined);
    for (const p of Object.values(resources(plain.template, 'AWS::IAM::Policy'))) {
      assert.ok(!JSON.stringify(p.Properties.PolicyDocument).includes('dynamodb'));
    }
  });

  it('keeps the table of a stage that keeps its resources, under a generated name', () => {
    const kept = synth({ stage: 'prod' }, boundTable('accept'));
    kept.template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({ TableName: Match.absent() }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('WWW-Authenticate on a sender-constrained REST API (gateway-responses.json)', () => {
  const { template } = synth({ corsOrigin: 'https://app.example.com' }, boundTable('accept'));
  const challenge = (type: string) =>
    only(template, 'AWS::ApiGateway::GatewayResponse', (p) => p.ResponseType === type).props.ResponseParameters['gatewayresponse.header.WWW-Authenticate'];
  const algs = gatewayResponses.dpopAlgs.join(' ');

  it('offers the bearer and the DPoP scheme, with the proof algorithms, on 401 and 403', () => {
    const realm = 'ApiAuthz-dev-shop';
    const d401 = gatewayResponses.responses.UNAUTHORIZED.errorDescription;
    const d403 = gatewayResponses.responses.ACCESS_DENIED.errorDescription;
    assert.equal(
      challenge('UNAUTHORIZED'),
      `'Bearer realm="${realm}", error="invalid_token", error_description="${d401}", DPoP realm="${realm}", algs="${algs}", error="invalid_token", error_description="${d401}"'`,
    );
    assert.equal(
      challenge('ACCESS_DENIED'),
      `'Bearer realm="${realm}", error="insufficient_scope", error_description="${d403}", DPoP realm="${realm}", algs="${algs}", error="insufficient_scope", error_description="${d403}"'`,
    );
    assert.equal(algs, 'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA');
  });

  it('an API without sender-constrained tokens offers the bearer scheme only', () => {
    assert.equal(wwwAuthenticate('r', 'invalid_token'), wwwAuthenticate('r', 'invalid_token', 'off'));
    assert.doesNotMatch(wwwAuthenticate('r', 'invalid_token'), /DPoP/);
    assert.match(wwwAuthenticate('r', 'invalid_token', 'require'), /^Bearer realm="r", .*, DPoP realm="r", algs="/);
  });

  it('lets browsers send the DPoP header (CORS) to sender-constrained APIs only', () => {
    const preflight = Object.values(resources(template, 'AWS::ApiGateway::Method')).find(
      (m) => m.Properties.HttpMethod === 'OPTIONS' && JSON.stringify(m.Properties).includes('Access-Control-Allow-Headers'),
    );
    assert.ok(preflight);
    assert.match(JSON.stringify(preflight.Properties), /Authorization,Content-Type,DPoP/);
    const http = Object.values(resources(template, 'AWS::ApiGatewayV2::Api'));
    const headersOf = (name: string) => http.find((a) => a.Properties.Name === name)!.Properties.CorsConfiguration.AllowHeaders;
    assert.deepEqual(headersOf('ApiAuthz-dev-sky'), ['authorization', 'content-type', 'dpop']);
    assert.deepEqual(headersOf('ApiAuthz-dev-open'), ['authorization', 'content-type']);
  });
});
