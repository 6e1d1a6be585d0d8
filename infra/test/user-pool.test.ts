/**
 * No `-c issuer`: the stack brings its own Cognito user pool (lib/user-pool.ts) and configures
 * every authorizer from it. The expected scopes and clients are computed here from routes.json
 * the plain way (the table's names with the `<api>/` prefix Cognito imposes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { defineApp } from '../bin/app';
import { configFromContext } from '../bin/context';
import { type ApiSpec, loadRouteTable, poolTiers } from '../lib/route-table';
import { BASE_CONTEXT, ISSUER, only, resources, synth, synthWithoutIssuer, table } from './helpers';
import { userPoolProblems } from '../lib/user-pool';

const TABLE = loadRouteTable();
const api = (name: string): ApiSpec => TABLE.apis.find((a) => a.name === name) as ApiSpec;
/** Every scope an API's routes and tiers name, as Cognito spells them. */
const prefixed = (a: ApiSpec, scopes: readonly string[]) => scopes.map((s) => `${a.name}/${s}`);

describe('no issuer: the stack makes a Cognito user pool for the stage', () => {
  const { template } = synthWithoutIssuer();
  const pool = only(template, 'AWS::Cognito::UserPool', () => true);
  const poolRef = { Ref: pool.id };
  const providerUrl = { 'Fn::GetAtt': [pool.id, 'ProviderURL'] };
  const clients = resources(template, 'AWS::Cognito::UserPoolClient');
  const clientId = (apiName: string, tier: string) => {
    const found = Object.entries(clients).filter(([, c]) => c.Properties.ClientName === `ApiAuthz-dev-${apiName}-${tier}`);
    assert.equal(found.length, 1, `one client for ${apiName}/${tier}`);
    return found[0][0];
  };
  const fn = (name: string) => only(template, 'AWS::Lambda::Function', (p) => p.FunctionName === name).props;

  it('one pool for machine clients, removed with a non-production stage', () => {
    assert.equal(pool.props.UserPoolName, 'ApiAuthz-dev');
    assert.deepEqual(pool.props.AdminCreateUserConfig, { AllowAdminCreateUserOnly: true });
    assert.equal(pool.props.DeletionProtection, 'INACTIVE');
    template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it('a resource server per API with exactly the scopes of its routes and tiers', () => {
    const servers = resources(template, 'AWS::Cognito::UserPoolResourceServer');
    assert.equal(Object.keys(servers).length, TABLE.apis.length);
    for (const a of TABLE.apis) {
      const want = [...new Set([...a.routes.flatMap((r) => r.scopes), ...Object.values(a.tiers).flatMap((t) => t.scopes)])].sort();
      const s = only(template, 'AWS::Cognito::UserPoolResourceServer', (p) => p.Identifier === a.name).props;
      assert.deepEqual(s.UserPoolId, poolRef);
      assert.deepEqual(
        s.Scopes.map((x: { ScopeName: string }) => x.ScopeName).sort(),
        want,
        `${a.name}: the resource server's scopes`,
      );
    }
  });

  it('one client-credentials app client with a generated secret per tier, granted the tier\'s scopes', () => {
    const tiers = TABLE.apis.flatMap((a) => poolTiers(a).map(([t]) => [a, t] as const));
    assert.equal(Object.keys(clients).length, tiers.length);
    // A tier with groups (PetStore's Cedar `editor`) gets none: Cognito cannot put groups in its token.
    assert.ok(TABLE.apis.some((a) => Object.values(a.tiers).some((t) => t.groups.length > 0)), 'the table has a tier with groups');
    const names = Object.values(clients).map((c) => c.Properties.ClientName);
    for (const a of TABLE.apis) {
      for (const [tier, t] of Object.entries(a.tiers)) {
        assert.equal(names.includes(`ApiAuthz-dev-${a.name}-${tier}`), t.groups.length === 0, `${a.name} ${tier}`);
      }
    }
    for (const [a, tier] of tiers) {
      const c = clients[clientId(a.name, tier)].Properties;
      assert.equal(c.GenerateSecret, true);
      assert.deepEqual(c.AllowedOAuthFlows, ['client_credentials']);
      assert.equal(c.AllowedOAuthFlowsUserPoolClient, true);
      assert.deepEqual(c.AllowedOAuthScopes, prefixed(a, a.tiers[tier].scopes));
      assert.deepEqual(c.ExplicitAuthFlows, ['ALLOW_REFRESH_TOKEN_AUTH'], 'no user sign-in flow');
      assert.deepEqual(c.UserPoolId, poolRef);
    }
    // A client may only be granted scopes that exist: it waits for its API's resource server.
    const server = only(template, 'AWS::Cognito::UserPoolResourceServer', (p) => p.Identifier === 'pet-store').id;
    template.hasResource('AWS::Cognito::UserPoolClient', {
      Properties: { ClientName: 'ApiAuthz-dev-pet-store-reader' },
      DependsOn: Match.arrayWith([server]),
    });
  });

  it('a Cognito domain whose prefix is the stage\'s, made unique by the stack id', () => {
    const d = only(template, 'AWS::Cognito::UserPoolDomain', () => true).props;
    assert.deepEqual(d.UserPoolId, poolRef);
    const [sep, parts] = d.Domain['Fn::Join'];
    assert.equal(sep, '');
    assert.equal(parts[0], 'apiauthz-dev-');
    assert.match(JSON.stringify(parts[1]), /"Ref":"AWS::StackId"/);
  });

  it('every Lambda authorizer: the pool as issuer, its API\'s client ids, Cognito scope names, no audience', () => {
    for (const a of TABLE.apis) {
      for (const type of ['token', 'request', 'http'] as const) {
        const guarded = a.routes.filter((r) => r.authorizer === type);
        if (guarded.length === 0) continue;
        const vars = fn(`ApiAuthz-dev-${a.name}-${type}`).Environment.Variables;
        assert.deepEqual(vars.AUTHZ_ISSUER, providerUrl, `${a.name} ${type}: issuer`);
        assert.equal(vars.AUTHZ_AUDIENCE, undefined, `${a.name} ${type}: Cognito access tokens have no aud`);
        const ids = poolTiers(a).map(([t]) => ({ Ref: clientId(a.name, t) }));
        assert.deepEqual(vars.AUTHZ_CLIENT_ID, { 'Fn::Join': ['', ids.flatMap((id, i) => (i === 0 ? [id] : [',', id]))] });
        const rules = JSON.parse(vars.AUTHZ_ROUTES) as { route: string; scopes?: string[] }[];
        assert.deepEqual(
          rules.map((r) => [r.route, r.scopes ?? []]),
          guarded.map((r) => [r.route, prefixed(a, r.scopes)]),
        );
      }
    }
  });

  it('the native JWT authorizer: the pool as issuer, the API\'s client ids as audience, Cognito scopes per route', () => {
    const solar = api('solar-system');
    const jwt = only(template, 'AWS::ApiGatewayV2::Authorizer', (p) => p.AuthorizerType === 'JWT').props;
    assert.deepEqual(jwt.JwtConfiguration, {
      Issuer: providerUrl,
      Audience: poolTiers(solar).map(([t]) => ({ Ref: clientId(solar.name, t) })),
    });
    for (const r of solar.routes.filter((x) => x.authorizer === 'jwt')) {
      const route = only(template, 'AWS::ApiGatewayV2::Route', (p) => p.RouteKey === r.route).props;
      assert.deepEqual(route.AuthorizationScopes, prefixed(solar, r.scopes));
    }
  });

  it('outputs the pool, the token endpoint and every client id', () => {
    template.hasOutput('UserPoolId', { Value: poolRef });
    const domain = only(template, 'AWS::Cognito::UserPoolDomain', () => true).id;
    template.hasOutput('TokenEndpoint', {
      Value: { 'Fn::Join': ['', ['https://', { Ref: domain }, '.auth.', { Ref: 'AWS::Region' }, '.amazoncognito.com/oauth2/token']] },
    });
    template.hasOutput('PetStoreReaderClientId', { Value: { Ref: clientId('pet-store', 'reader') } });
    template.hasOutput('SolarSystemGoldClientId', { Value: { Ref: clientId('solar-system', 'gold') } });
    const outputs = Object.keys(template.toJSON().Outputs).filter((k) => k.endsWith('ClientId'));
    assert.equal(outputs.length, Object.keys(clients).length);
  });

  it('prod keeps its pool, with deletion protection', () => {
    const prod = synthWithoutIssuer({ stage: 'prod' }).template;
    prod.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: { DeletionProtection: 'ACTIVE', UserPoolName: 'ApiAuthz-prod' },
    });
  });
});

describe('with -c issuer: the external IdP, no pool', () => {
  const { template } = synth();
  it('creates no Cognito resource and no pool output', () => {
    for (const type of ['UserPool', 'UserPoolClient', 'UserPoolResourceServer', 'UserPoolDomain']) {
      template.resourceCountIs(`AWS::Cognito::${type}`, 0);
    }
    const outputs = Object.keys(template.toJSON().Outputs);
    assert.ok(!outputs.includes('TokenEndpoint') && !outputs.includes('UserPoolId'));
  });
  it('keeps the issuer and the audience, the table\'s own scope names, no AUTHZ_CLIENT_ID', () => {
    const vars = only(template, 'AWS::Lambda::Function', (p) => p.FunctionName === 'ApiAuthz-dev-pet-store-token').props.Environment.Variables;
    assert.equal(vars.AUTHZ_ISSUER, ISSUER);
    assert.equal(vars.AUTHZ_AUDIENCE, api('pet-store').audience);
    assert.equal(vars.AUTHZ_CLIENT_ID, undefined);
    assert.match(vars.AUTHZ_ROUTES, /"scopes":\["read"\]/);
    const jwt = only(template, 'AWS::ApiGatewayV2::Authorizer', (p) => p.AuthorizerType === 'JWT').props;
    assert.deepEqual(jwt.JwtConfiguration, { Issuer: ISSUER, Audience: [api('solar-system').audience] });
  });
  it('lets authzEnvironment set AUTHZ_CLIENT_ID for an external Cognito pool', () => {
    const t = synth({ authzEnvironment: { AUTHZ_CLIENT_ID: 'abc,def' } }).template;
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-solar-system-http',
      Environment: { Variables: Match.objectLike({ AUTHZ_CLIENT_ID: 'abc,def', AUTHZ_ISSUER: ISSUER }) },
    });
  });
});

describe('what the stack\'s own pool refuses, naming the setting', () => {
  const doc = (tiers: unknown, scope = 'read') => ({
    apis: {
      shop: {
        type: 'rest',
        audience: 'shop',
        tiers,
        routes: [{ route: 'GET /items', authorizer: 'token', scopes: [scope] }],
      },
    },
  });
  it('a tier with claims (client-credentials tokens carry scopes only) or without scopes', () => {
    assert.throws(
      () => synthWithoutIssuer({}, table(doc({ staff: { scopes: ['read'], claims: { groups: 'staff' } } }))),
      /apis\.shop\.tiers\.staff: claims \(groups\) cannot be issued by the stack's Cognito pool/,
    );
    assert.throws(() => synthWithoutIssuer({}, table(doc({ empty: {} }))), /apis\.shop\.tiers\.empty: no scopes/);
    // The same table is fine for an external IdP.
    synth({}, table(doc({ staff: { scopes: ['read'], claims: { groups: 'staff' } } })));
  });
  it('a tier with groups is no problem: the pool makes no client for it (local mode and external issuers only)', () => {
    const withGroups = {
      apis: {
        shop: {
          type: 'rest',
          audience: 'shop',
          tiers: { reader: { scopes: ['read'] }, staff: { scopes: ['read'], groups: ['staff'], claims: { dept: 'x' } } },
          cedar: { policies: 'cedar/pet-store.cedar', schema: 'cedar/pet-store.cedarschema', namespace: 'PetStore', groupsClaim: 'groups' },
          routes: [{ route: 'GET /items', authorizer: 'token', scopes: ['read'] }],
        },
      },
    };
    const t = table(withGroups);
    assert.deepEqual(userPoolProblems(t), []);
    assert.deepEqual(poolTiers(t.apis[0]).map(([name]) => name), ['reader']);
  });
  it('a scope name Cognito cannot hold', () => {
    assert.throws(() => synthWithoutIssuer({}, table(doc({ r: { scopes: ['read'] } }, 'items/read'))), /scope "items\/read" is not a Cognito scope name/);
  });
  it('a stage or app name that would put a word Cognito forbids into the domain prefix', () => {
    assert.throws(() => synthWithoutIssuer({ stage: 'aws-test' }), /domain prefix "apiauthz-aws-test-…" may not contain "aws"/);
  });
  it('settings that only make sense with an external issuer', () => {
    assert.throws(() => synthWithoutIssuer({ audiences: 'pet-store=x' }), /audiences need an issuer/);
    assert.throws(() => synthWithoutIssuer({ jwksUri: 'https://k.example.com/jwks' }), /jwksUri needs an issuer/);
    assert.throws(
      () => synthWithoutIssuer({ authzEnvironment: { AUTHZ_CLIENT_ID: 'x' } }),
      /extraEnvironment: AUTHZ_CLIENT_ID is generated from the stack's own user pool/,
    );
  });
  it('the context gives no issuer as undefined (an empty -c issuer= too)', () => {
    for (const issuer of [undefined, '']) {
      const c = configFromContext((k) => (k === 'issuer' ? issuer : undefined), { workspaceRoot: '/ws', routeTable: TABLE });
      assert.equal(c.authorizers.issuer, undefined);
    }
  });
});

describe('cdk-nag with the stack\'s own pool', () => {
  const { issuer: _external, ...base } = BASE_CONTEXT;
  it('synthesizes with no unacknowledged finding; the pool\'s one acknowledgement has its reason', () => {
    const app = new App({ context: { ...base } });
    const stack = defineApp(app);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    };
    for (const r of report.pluginReports) assert.deepEqual(r.violations, [], r.pluginName);
    const poolAcks = stack.node
      .findAll()
      .filter((c) => c.node.path.startsWith(`${stack.node.path}/UserPool`))
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
      );
    assert.deepEqual(
      poolAcks.map((a) => `${a.id.replace(/^Annotation::/, '')} ${a.path}`),
      ['AwsSolutions-COG8 ApiAuthz-dev/UserPool/Pool'],
    );
    assert.match(poolAcks[0].reason, /machine clients only/);
  });
  it('is really on for the pool: a weak password policy (COG1) or no MFA (COG2) fails synthesis', () => {
    const weaken: ((cfn: { mfaConfiguration?: string; policies?: unknown }) => void)[] = [
      (cfn) => {
        cfn.policies = { passwordPolicy: { minimumLength: 6 } };
      },
      (cfn) => {
        cfn.mfaConfiguration = 'OFF';
      },
    ];
    for (const change of weaken) {
      const app = new App({ context: { ...base } });
      const stack = defineApp(app);
      change(stack.node.findChild('UserPool').node.findChild('Pool').node.defaultChild as { mfaConfiguration?: string });
      assert.throws(() => app.synth(), /Validation failed/);
    }
  });
});
