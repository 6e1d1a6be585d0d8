/**
 * Cedar-decided routes in the CDK app (lib/cedar.ts): the files an authorizer ships, the settings
 * naming them, and the synth-time validation with the real `@cedar-policy/cedar-wasm`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CEDAR_TASK_DIR, CedarValidationError, cedarEnvironment, cedarFilesOf, decidesWithCedar, validateCedar, withoutContext } from '../lib/cedar';
import { type ApiSpec, apiNamed, loadRouteTable } from '../lib/route-table';
import { table } from './helpers';

const INFRA = path.join(__dirname, '..');

const SCHEMA = `namespace PetStore {
    entity UserGroup;
    entity User in [UserGroup] { scopes: Set<String> };
    entity Application;
    action "put /pets", "delete /pets" appliesTo {
        principal: [User],
        resource: [Application],
        context: { sourceIp: String }
    };
}
`;

const GOOD = `@id("editors")
permit (principal in PetStore::UserGroup::"editors", action == PetStore::Action::"put /pets", resource);
`;

/** An API whose Cedar files hold these texts (in a fresh directory), cached or not. */
function apiWith(policies: string, schema: string = SCHEMA, cacheTtlSeconds = 300, schemaName = 'schema.cedarschema'): ApiSpec {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cedar-'));
  fs.writeFileSync(path.join(dir, 'policies.cedar'), policies);
  fs.writeFileSync(path.join(dir, schemaName), schema);
  const doc = {
    apis: {
      shop: {
        type: 'rest',
        audience: 'shop',
        cacheTtlSeconds,
        cedar: { policies: path.join(dir, 'policies.cedar'), schema: path.join(dir, schemaName), namespace: 'PetStore', groupsClaim: 'groups' },
        routes: [
          { route: 'PUT /pets', authorizer: 'request', cedar: true },
          { route: 'GET /pets', authorizer: 'token' },
        ],
      },
    },
  };
  return table(doc).apis[0];
}

function problemsOf(api: ApiSpec): readonly string[] {
  try {
    validateCedar(api);
  } catch (e) {
    assert.ok(e instanceof CedarValidationError, String(e));
    assert.equal(e.message, `shop: the Cedar policies do not validate against their schema:\n  - ${e.problems.join('\n  - ')}`);
    return e.problems;
  }
  assert.fail('expected a CedarValidationError');
}

describe('Cedar files and settings of an authorizer', () => {
  const pet = apiNamed(loadRouteTable(), 'pet-store');

  it('only the authorizer deciding a route with Cedar ships the files', () => {
    assert.equal(decidesWithCedar(pet, 'request'), true);
    assert.equal(decidesWithCedar(pet, 'token'), false);
    assert.deepEqual(cedarFilesOf(pet, 'token'), []);
    assert.deepEqual(cedarFilesOf(pet, 'request'), [
      { setting: 'AUTHZ_CEDAR_POLICIES', local: path.join(INFRA, 'cedar', 'pet-store.cedar'), inFunction: `${CEDAR_TASK_DIR}/policies/pet-store.cedar` },
      { setting: 'AUTHZ_CEDAR_SCHEMA', local: path.join(INFRA, 'cedar', 'pet-store.cedarschema'), inFunction: `${CEDAR_TASK_DIR}/schema/pet-store.cedarschema` },
    ]);
  });

  it('the settings name the files in the function, or on this machine for synth', () => {
    assert.deepEqual(cedarEnvironment(pet, 'request', 'inFunction'), {
      AUTHZ_CEDAR_POLICIES: '/var/task/cedar/policies/pet-store.cedar',
      AUTHZ_CEDAR_SCHEMA: '/var/task/cedar/schema/pet-store.cedarschema',
      AUTHZ_CEDAR_NAMESPACE: 'PetStore',
      AUTHZ_CEDAR_GROUPS_CLAIM: 'groups',
    });
    assert.equal(cedarEnvironment(pet, 'request', 'local').AUTHZ_CEDAR_POLICIES, path.join(INFRA, 'cedar', 'pet-store.cedar'));
    assert.deepEqual(cedarEnvironment(pet, 'token', 'inFunction'), {});
  });

  it('an entity prefix is passed on; none without groupsClaim', () => {
    const doc = {
      apis: {
        shop: {
          type: 'http',
          audience: 'shop',
          cedar: { policies: 'p.cedar', schema: 's.json', namespace: 'Shop', entityPrefix: 'eu-west-1_Pool|' },
          routes: [{ route: 'GET /x', authorizer: 'http', cedar: true }],
        },
      },
    };
    const env = cedarEnvironment(table(doc).apis[0], 'http', 'inFunction');
    assert.equal(env.AUTHZ_CEDAR_ENTITY_PREFIX, 'eu-west-1_Pool|');
    assert.equal(env.AUTHZ_CEDAR_SCHEMA, '/var/task/cedar/schema/s.json');
    assert.equal(env.AUTHZ_CEDAR_GROUPS_CLAIM, undefined);
  });
});

describe('validateCedar (real cedar-wasm, strict mode)', () => {
  it('passes the shipped PetStore policies', () => {
    validateCedar(apiNamed(loadRouteTable(), 'pet-store'));
  });

  it('passes valid policies, and an API without Cedar', () => {
    validateCedar(apiWith(GOOD));
    validateCedar(apiNamed(loadRouteTable(), 'solar-system'));
  });

  it('refuses an unknown action, naming the file, line and column and Cedar\'s message', () => {
    const api = apiWith(`${GOOD}permit (principal, action == PetStore::Action::"patch /pets", resource);\n`);
    const [p, ...rest] = problemsOf(api);
    assert.deepEqual(rest, []);
    assert.match(p, new RegExp(`^${escape(api.cedar!.files.policies!)}:3:\\d+: .*PetStore::Action::"patch /pets"`));
  });

  it('refuses an unknown attribute with Cedar\'s help', () => {
    const api = apiWith('permit (principal, action == PetStore::Action::"put /pets", resource) when { principal.group == "x" };\n');
    const [p] = problemsOf(api);
    assert.match(p, /policies\.cedar:1:\d+: for policy `policy0`, attribute `group` on entity type `PetStore::User` not found \(did you mean `scopes`\?\)$/);
  });

  it('cached: a policy reading the context fails, though the schema declares it', () => {
    const reads = 'permit (principal, action == PetStore::Action::"put /pets", resource) when { context.sourceIp == "10.0.0.1" };\n';
    const [p, ...rest] = problemsOf(apiWith(reads, SCHEMA, 300));
    assert.deepEqual(rest, []);
    assert.match(p, /policies\.cedar:1:\d+: .*sourceIp.*\[validated with an empty context: the shop authorizers cache answers \(cacheTtlSeconds 300\), so a policy may not depend on the request\]$/);
    // Uncached, the schema's context stands and the same policy validates.
    validateCedar(apiWith(reads, SCHEMA, 0));
  });

  it('refuses a policy file that does not parse, at its line', () => {
    const [p] = problemsOf(apiWith(`${GOOD}\npermit (principal, action, resource) when {\n`));
    assert.match(p, /policies\.cedar:4:\d+: failed to parse policies from string: unexpected end of input/);
  });

  it('refuses a schema that does not parse, at its line', () => {
    const [p] = problemsOf(apiWith(GOOD, 'namespace PetStore {\n  entity ;\n}\n'));
    assert.match(p, /schema\.cedarschema:2:10: failed to parse schema from string: .*unexpected token `;`/);
  });

  it('reads a JSON schema when the name ends in .json', () => {
    const json = {
      PetStore: {
        entityTypes: { UserGroup: {}, User: { memberOfTypes: ['UserGroup'] }, Application: {} },
        actions: { 'put /pets': { appliesTo: { principalTypes: ['User'], resourceTypes: ['Application'] } } },
      },
    };
    validateCedar(apiWith(GOOD, JSON.stringify(json), 300, 'schema.json'));
    const [p] = problemsOf(apiWith(`${GOOD}permit (principal, action == PetStore::Action::"delete /pets", resource);\n`, JSON.stringify(json), 300, 'schema.json'));
    assert.match(p, /policies\.cedar:3:\d+: .*delete \/pets/);
    assert.match(problemsOf(apiWith(GOOD, '{', 300, 'schema.json'))[0], /schema\.json: not JSON/);
  });

  it('a missing file names it', () => {
    const api = apiWith(GOOD);
    fs.rmSync(api.cedar!.files.policies!);
    assert.match(problemsOf(api)[0], /policies\.cedar: cannot read it \(ENOENT\)/);
  });

  it('withoutContext drops every action\'s context and leaves the rest', () => {
    const schema = { NS: { entityTypes: {}, actions: { a: { appliesTo: { principalTypes: ['U'], resourceTypes: ['R'], context: { type: 'Record' as const, attributes: {} } } } } } };
    const out = withoutContext(schema as never) as unknown as typeof schema;
    assert.deepEqual(out.NS.actions.a.appliesTo, { principalTypes: ['U'], resourceTypes: ['R'] });
    assert.ok(schema.NS.actions.a.appliesTo.context, 'the input is left as it was');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
