import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  RouteTableError,
  apiNamed,
  authzRoutesFor,
  expectedStatus,
  lambdaAuthorizersOf,
  loadRouteTable,
  rulesDifferPerRoute,
  samplePath,
} from '../lib/route-table';
import { table } from './helpers';

const INFRA = path.join(__dirname, '..');

/** A minimal valid document with one API; `api` fields override. */
function doc(api: Record<string, unknown>, name = 'shop'): unknown {
  return { apis: { [name]: { type: 'rest', audience: 'shop', routes: [{ route: 'GET /', authorizer: 'none' }], ...api } } };
}

function problems(d: unknown): string {
  try {
    table(d);
  } catch (e) {
    assert.ok(e instanceof RouteTableError, String(e));
    return e.message;
  }
  assert.fail('expected a RouteTableError');
}

describe('routes.json', () => {
  const t = loadRouteTable();

  it('is valid and holds the PetStore REST API and the solar-system HTTP API', () => {
    assert.deepEqual(
      t.apis.map((a) => [a.name, a.type]),
      [
        ['pet-store', 'rest'],
        ['solar-system', 'http'],
      ],
    );
  });

  it('maps PetStore methods to scopes as the Hydra guide did: GET read, POST write, GET / public; PUT and DELETE by Cedar', () => {
    const api = apiNamed(t, 'pet-store');
    const byRoute = Object.fromEntries(api.routes.map((r) => [r.route, [r.authorizer, r.scopes.join(','), r.cedar]]));
    assert.deepEqual(byRoute, {
      'GET /': ['none', '', false],
      'GET /pets': ['token', 'read', false],
      'POST /pets': ['token', 'write', false],
      'GET /pets/{petId}': ['request', 'read', false],
      'PUT /pets/{petId}': ['request', '', true],
      'DELETE /pets/{petId}': ['request', '', true],
    });
    assert.equal(api.cacheTtlSeconds, 300);
    assert.deepEqual(api.cedar, {
      files: { policies: path.join(INFRA, 'cedar', 'pet-store.cedar'), schema: path.join(INFRA, 'cedar', 'pet-store.cedarschema') },
      namespace: 'PetStore',
      groupsClaim: 'groups',
      entityPrefix: '',
    });
    assert.deepEqual(api.tiers.editor.groups, ['editors']);
    // As authz-local has it: the token carries them in the groups claim, which claim rules read too.
    assert.deepEqual(api.tiers.editor.claims, { groups: ['editors'] });
    assert.deepEqual(api.tiers.writer.groups, []);
  });

  it('gives the solar-system tiers: asteroids any token, planets silver up, moons gold', () => {
    const api = apiNamed(t, 'solar-system');
    const byRoute = Object.fromEntries(api.routes.map((r) => [r.route, [r.authorizer, r.scopes.join(',')]]));
    assert.deepEqual(byRoute, {
      'GET /': ['none', ''],
      'GET /asteroids': ['http', ''],
      'GET /planets': ['http', 'silver,gold'],
      'GET /moons': ['jwt', 'gold'],
    });
  });

  it('generates each Lambda authorizer\'s AUTHZ_ROUTES from the routes it guards, and nothing else', () => {
    const pet = apiNamed(t, 'pet-store');
    assert.deepEqual(lambdaAuthorizersOf(pet), ['token', 'request']);
    assert.deepEqual(JSON.parse(authzRoutesFor(pet, 'token')), [
      { route: 'GET /pets', scopes: ['read'] },
      { route: 'POST /pets', scopes: ['write'] },
    ]);
    assert.deepEqual(JSON.parse(authzRoutesFor(pet, 'request')), [
      { route: 'GET /pets/{petId}', scopes: ['read'] },
      { route: 'PUT /pets/{petId}', cedar: true },
      { route: 'DELETE /pets/{petId}', cedar: true },
    ]);
    const solar = apiNamed(t, 'solar-system');
    assert.deepEqual(lambdaAuthorizersOf(solar), ['http']);
    assert.deepEqual(JSON.parse(authzRoutesFor(solar, 'http')), [
      { route: 'GET /asteroids' },
      { route: 'GET /planets', scopes: ['silver', 'gold'] },
    ]);
  });

  it('agrees with the Rust tests\' solar-system fixture (events/fixtures/solar-system.json)', async () => {
    const fixture = (await import('../../events/fixtures/solar-system.json')).default as {
      routes: { route: string; scopes?: string[] }[];
      tiers: Record<string, string[]>;
      expect: Record<string, Record<string, boolean>>;
    };
    const solar = apiNamed(t, 'solar-system');
    for (const [route, byTier] of Object.entries(fixture.expect)) {
      const spec = solar.routes.find((r) => r.route === route);
      for (const [tier, allowed] of Object.entries(byTier)) {
        if (!spec) continue; // routes absent from the API: API Gateway answers 404 before any authorizer
        assert.equal(expectedStatus(solar, spec, { kind: 'tier', tier }) === 200, allowed, `${route} ${tier}`);
      }
    }
  });
});

describe('route table: Cedar', () => {
  const cedar = { policies: 'cedar/pet-store.cedar', schema: 'cedar/pet-store.cedarschema', namespace: 'PetStore' };

  it('resolves the files against the table\'s directory, groupsClaim and entityPrefix optional', () => {
    const t = table(doc({ cedar, routes: [{ route: 'PUT /pets', authorizer: 'request', cedar: true }] }));
    assert.deepEqual(t.apis[0].cedar, {
      files: { policies: path.join(INFRA, 'cedar/pet-store.cedar'), schema: path.join(INFRA, 'cedar/pet-store.cedarschema') },
      namespace: 'PetStore',
      groupsClaim: undefined,
      entityPrefix: '',
    });
    assert.equal(t.apis[0].routes[0].cedar, true);
    assert.equal(JSON.parse(authzRoutesFor(t.apis[0], 'request'))[0].cedar, true);
  });

  it('refuses a Cedar route on an API without "cedar", at the route', () => {
    assert.match(
      problems(doc({ routes: [{ route: 'PUT /pets', authorizer: 'request', cedar: true }] })),
      /apis\.shop\.routes\[0\] \("PUT \/pets"\): "cedar": true needs the API's "cedar" \(its policies, schema and namespace\)/,
    );
  });

  it('refuses a Cedar route no Lambda authorizer decides, or naming no single action', () => {
    assert.match(problems(doc({ cedar, routes: [{ route: 'PUT /pets', authorizer: 'none', cedar: true }] })), /needs a Lambda authorizer \(token, request or http\), not "none"/);
    assert.match(
      problems(doc({ type: 'http', cedar, routes: [{ route: 'PUT /pets', authorizer: 'jwt', cedar: true }] })),
      /needs a Lambda authorizer \(token, request or http\), not "jwt"/,
    );
    assert.match(problems(doc({ cedar, routes: [{ route: 'ANY /pets', authorizer: 'token', cedar: true }] })), /names one method and path \(not ANY or \$default/);
    // `"cedar": false` is a plain rule.
    assert.equal(table(doc({ routes: [{ route: 'PUT /pets', authorizer: 'token', cedar: false }] })).apis[0].routes[0].cedar, false);
  });

  it('refuses tier groups without the API\'s groupsClaim, and an incomplete cedar object', () => {
    assert.match(
      problems(doc({ cedar, tiers: { staff: { scopes: ['read'], groups: ['editors'] } } })),
      /apis\.shop\.tiers\.staff: groups need the API's cedar\.groupsClaim/,
    );
    assert.deepEqual(table(doc({ cedar: { ...cedar, groupsClaim: 'groups' }, tiers: { staff: { groups: ['editors'] } } })).apis[0].tiers.staff.groups, ['editors']);
    assert.match(problems(doc({ cedar: { policies: 'p.cedar', namespace: 'X' } })), /apis\.shop\.cedar: must have required property 'schema'/);
    assert.match(problems(doc({ cedar: { ...cedar, templateLink: 'x' } })), /apis\.shop\.cedar: unknown property "templateLink"/);
  });

  it('a Cedar-decided route differs from every other route of its authorizer', () => {
    const t = table(doc({ cedar, routes: [{ route: 'PUT /pets', authorizer: 'request', cedar: true }, { route: 'DELETE /pets', authorizer: 'request', cedar: true }] }));
    assert.equal(rulesDifferPerRoute(t.apis[0], 'request'), true);
    const plain = table(doc({ routes: [{ route: 'PUT /pets', authorizer: 'request' }, { route: 'DELETE /pets', authorizer: 'request' }] }));
    assert.equal(rulesDifferPerRoute(plain.apis[0], 'request'), false);
  });

  it('predicts PetStore\'s Cedar routes: editors update and delete, writers update only', () => {
    const pet = apiNamed(loadRouteTable(), 'pet-store');
    const status = (route: string, tier: string) => expectedStatus(pet, pet.routes.find((r) => r.route === route)!, { kind: 'tier', tier });
    assert.deepEqual(
      ['reader', 'writer', 'nobody', 'editor'].map((tier) => [tier, status('PUT /pets/{petId}', tier), status('DELETE /pets/{petId}', tier)]),
      [
        ['reader', 403, 403],
        ['writer', 200, 403],
        ['nobody', 403, 403],
        ['editor', 200, 200],
      ],
    );
  });
});

describe('route table validation', () => {
  it('refuses an authorizer type that does not fit the API, naming the route', () => {
    const m = problems(doc({ routes: [{ route: 'GET /pets', authorizer: 'http' }] }));
    assert.match(m, /apis\.shop\.routes\[0\] \("GET \/pets"\): authorizer "http" does not fit a rest API; use one of none, token, request/);
    const h = problems(doc({ type: 'http', routes: [{ route: 'GET /moons', authorizer: 'token' }] }));
    assert.match(h, /authorizer "token" does not fit a http API; use one of none, http, jwt/);
  });

  it('refuses unknown properties and types', () => {
    assert.match(problems(doc({ cacheTTL: 5 })), /apis\.shop: unknown property "cacheTTL"/);
    assert.match(problems(doc({ type: 'websocket' })), /apis\.shop\.type: "websocket" is not one of rest, http/);
    assert.match(problems(doc({ cacheTtlSeconds: 3601 })), /apis\.shop\.cacheTtlSeconds: must be <= 3600/);
    assert.match(problems({ apis: { Shop: {} } }), /name "Shop" is not lower-case words/);
    assert.match(problems(doc({ routes: [{ route: 'GET /', authorizer: 'none', scope: ['x'] }] })), /unknown property "scope"; did you mean "scopes"\?/);
    assert.match(
      problems(doc({ routes: [{ route: 'GET /', authorizer: 'tokn' }] })),
      /apis\.shop\.routes\[0\] \("GET \/"\): authorizer "tokn" is not an authorizer type; a rest API takes one of none, token, request$/,
    );
  });

  it('refuses malformed routes', () => {
    for (const route of ['GET pets', 'FETCH /pets', 'GET /pets/', 'get /pets', 'GET /pets/{pet-id}', 'GET /a b']) {
      assert.ok(problems(doc({ routes: [{ route, authorizer: 'none' }] })).includes(`${JSON.stringify(route)} is not "METHOD /path"`), route);
    }
    assert.match(
      problems(doc({ routes: [{ route: 'GET /{proxy+}/x', authorizer: 'none' }] })),
      /greedy \{param\+\} must be the last path segment/,
    );
    assert.match(problems(doc({ routes: [{ route: '$default', authorizer: 'none' }] })), /\$default exists only on HTTP APIs/);
  });

  it('refuses rules that nothing would check', () => {
    assert.match(
      problems(doc({ routes: [{ route: 'GET /', authorizer: 'none', scopes: ['read'] }] })),
      /authorizer "none" cannot have scopes or claims/,
    );
    assert.match(
      problems(doc({ type: 'http', routes: [{ route: 'GET /x', authorizer: 'jwt', claims: { groups: 'admin' } }] })),
      /native JWT authorizer checks scopes only, not claims/,
    );
    const many = Array.from({ length: 11 }, (_, i) => `s${i}`);
    assert.match(
      problems(doc({ type: 'http', routes: [{ route: 'GET /x', authorizer: 'jwt', scopes: many }] })),
      /at most 10 scopes per route/,
    );
  });

  it('refuses duplicate routes and conflicting REST path parameters', () => {
    assert.match(
      problems(doc({ routes: [{ route: 'GET /a', authorizer: 'none' }, { route: 'GET /a', authorizer: 'token' }] })),
      /\("GET \/a"\): route listed twice/,
    );
    assert.match(
      problems(
        doc({
          routes: [
            { route: 'GET /pets/{petId}', authorizer: 'token' },
            { route: 'DELETE /pets/{id}', authorizer: 'token' },
          ],
        }),
      ),
      /under "\/pets" use two different path parameters/,
    );
  });

  it('lists every problem at once', () => {
    const m = problems(doc({ cacheTtlSeconds: -1, routes: [{ route: 'GET /x', authorizer: 'jwt' }] }));
    assert.match(m, /cacheTtlSeconds/);
    assert.match(m, /authorizer "jwt" does not fit/);
  });

  it('accepts claims, ANY, greedy paths and $default where they fit', () => {
    const t = table({
      apis: {
        api: {
          type: 'http',
          audience: 'a',
          cacheTtlSeconds: 0,
          routes: [
            { route: '$default', authorizer: 'http', claims: { groups: 'admins', email_verified: true } },
            { route: 'ANY /files/{proxy+}', authorizer: 'http', scopes: ['files'] },
          ],
        },
      },
    });
    assert.deepEqual(JSON.parse(authzRoutesFor(t.apis[0], 'http')), [
      { route: '$default', claims: { groups: 'admins', email_verified: true } },
      { route: 'ANY /files/{proxy+}', scopes: ['files'] },
    ]);
    assert.equal(samplePath('ANY /files/{proxy+}'), '/files/a/b');
    assert.equal(samplePath('GET /pets/{petId}'), '/pets/1');
  });
});

describe('rules per route', () => {
  it('tells whether routes behind one authorizer carry different rules', () => {
    const t = table({
      apis: {
        same: {
          type: 'http',
          audience: 'a',
          routes: [
            { route: 'GET /a', authorizer: 'http', scopes: ['x', 'y'] },
            { route: 'GET /b', authorizer: 'http', scopes: ['y', 'x'] },
            { route: 'GET /c', authorizer: 'jwt' },
          ],
        },
      },
    });
    assert.equal(rulesDifferPerRoute(t.apis[0], 'http'), false);
    assert.equal(rulesDifferPerRoute(apiNamed(loadRouteTable(), 'solar-system'), 'http'), true);
  });
});

describe('expected status (the README semantics table)', () => {
  const t = loadRouteTable();
  const pet = apiNamed(t, 'pet-store');
  const solar = apiNamed(t, 'solar-system');
  const route = (api: typeof pet, key: string) => api.routes.find((r) => r.route === key)!;

  it('REST Lambda authorizers: 401 without or with a bad token, 403 without the scope', () => {
    for (const key of ['GET /pets', 'GET /pets/{petId}']) {
      assert.equal(expectedStatus(pet, route(pet, key), { kind: 'none' }), 401);
      assert.equal(expectedStatus(pet, route(pet, key), { kind: 'bad' }), 401);
      assert.equal(expectedStatus(pet, route(pet, key), { kind: 'tier', tier: 'reader' }), 200);
      assert.equal(expectedStatus(pet, route(pet, key), { kind: 'tier', tier: 'nobody' }), 403);
    }
    assert.equal(expectedStatus(pet, route(pet, 'POST /pets'), { kind: 'tier', tier: 'reader' }), 403);
    assert.equal(expectedStatus(pet, route(pet, 'POST /pets'), { kind: 'tier', tier: 'writer' }), 200);
  });

  it('HTTP Lambda authorizer (simple responses): 401 only without the header, 403 for a bad token', () => {
    assert.equal(expectedStatus(solar, route(solar, 'GET /planets'), { kind: 'none' }), 401);
    assert.equal(expectedStatus(solar, route(solar, 'GET /planets'), { kind: 'bad' }), 403);
    assert.equal(expectedStatus(solar, route(solar, 'GET /planets'), { kind: 'tier', tier: 'bronze' }), 403);
    assert.equal(expectedStatus(solar, route(solar, 'GET /planets'), { kind: 'tier', tier: 'gold' }), 200);
    assert.equal(expectedStatus(solar, route(solar, 'GET /asteroids'), { kind: 'tier', tier: 'bronze' }), 200);
  });

  it('native JWT authorizer: 401 without or with a bad token, 403 without the scope', () => {
    assert.equal(expectedStatus(solar, route(solar, 'GET /moons'), { kind: 'none' }), 401);
    assert.equal(expectedStatus(solar, route(solar, 'GET /moons'), { kind: 'bad' }), 401);
    assert.equal(expectedStatus(solar, route(solar, 'GET /moons'), { kind: 'tier', tier: 'silver' }), 403);
    assert.equal(expectedStatus(solar, route(solar, 'GET /moons'), { kind: 'tier', tier: 'gold' }), 200);
  });

  it('public routes: 200 for everyone', () => {
    for (const caller of [{ kind: 'none' }, { kind: 'bad' }, { kind: 'tier', tier: 'bronze' }] as const) {
      assert.equal(expectedStatus(solar, route(solar, 'GET /'), caller), 200);
    }
  });
});
