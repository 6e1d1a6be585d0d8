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
import { type ApiSpec, apiNamed, expectedStatus, loadRouteTable } from '../lib/route-table';
import { resources, synth, table } from './helpers';

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

  it('an entity prefix and template links are passed on; no groups claim without groupsClaim', () => {
    const doc = {
      apis: {
        shop: {
          type: 'http',
          audience: 'shop',
          cedar: { policies: 'p.cedar', schema: 's.json', templateLinks: 'links.json', namespace: 'Shop', entityPrefix: 'eu-west-1_Pool|' },
          routes: [{ route: 'GET /x', authorizer: 'http', cedar: true }],
        },
      },
    };
    const env = cedarEnvironment(table(doc).apis[0], 'http', 'inFunction');
    assert.equal(env.AUTHZ_CEDAR_ENTITY_PREFIX, 'eu-west-1_Pool|');
    assert.equal(env.AUTHZ_CEDAR_SCHEMA, '/var/task/cedar/schema/s.json');
    assert.equal(env.AUTHZ_CEDAR_GROUPS_CLAIM, undefined);
    // Template links ship beside the policies (README "Cedar policies").
    assert.equal(env.AUTHZ_CEDAR_TEMPLATE_LINKS, '/var/task/cedar/templateLinks/links.json');
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

  it('validates templates as templates (slots and all), and places their problems at their line in the file', () => {
    const template = '@id("group-may-put")\npermit (principal in ?principal, action == PetStore::Action::"put /pets", resource);\n';
    validateCedar(apiWith(`${GOOD}${template}`));
    const bad = '@id("bad-template")\npermit (principal in ?principal, action == PetStore::Action::"put /pets", resource) when { principal.group == "x" };\n';
    const api = apiWith(`${GOOD}${template}${bad}`);
    const [p, ...rest] = problemsOf(api);
    assert.deepEqual(rest, []);
    assert.match(p, new RegExp(`^${escape(api.cedar!.files.policies!)}:6:\\d+: .*attribute \`group\` on entity type \`PetStore::User\` not found`));
  });

  it('predicts template-linked policies as the cold start links them (smoke expectations)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cedar-links-'));
    fs.writeFileSync(path.join(dir, 'p.cedar'), '@id("group-puts")\npermit (principal in ?principal, action == PetStore::Action::"put /pets", resource);\n');
    fs.writeFileSync(path.join(dir, 's.cedarschema'), SCHEMA);
    fs.writeFileSync(
      path.join(dir, 'links.json'),
      JSON.stringify({ policies: [{ policyId: 'editors-put', definition: { templateLinked: { policyTemplateId: 'group-puts', principal: { entityType: 'PetStore::UserGroup', entityId: 'editors' } } } }] }),
    );
    const api = table({
      apis: {
        shop: {
          type: 'rest',
          audience: 'shop',
          cedar: { policies: path.join(dir, 'p.cedar'), schema: path.join(dir, 's.cedarschema'), templateLinks: path.join(dir, 'links.json'), namespace: 'PetStore', groupsClaim: 'groups' },
          tiers: { editor: { scopes: ['x'], groups: ['editors'] }, other: { scopes: ['x'], groups: ['viewers'] } },
          routes: [{ route: 'PUT /pets', authorizer: 'request', cedar: true }],
        },
      },
    }).apis[0];
    const status = (tier: string) => expectedStatus(api, api.routes[0], { kind: 'tier', tier });
    assert.equal(status('editor'), 200);
    assert.equal(status('other'), 403);
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

describe('synth with Cedar-decided routes', () => {
  const shipped = loadRouteTable();
  const { stack, template } = synth();
  const fns = resources(template, 'AWS::Lambda::Function');
  const vars = (name: string) => Object.values(fns).find((f) => f.Properties.FunctionName === name)!.Properties.Environment.Variables;

  it('the PetStore request authorizer ships the files, names them, and is built with cedar; the token authorizer is not', () => {
    const request = stack.authorizers['pet-store'].request!;
    assert.deepEqual(request.features, { introspection: false, replayStore: false, cedar: true });
    assert.deepEqual(request.bundledFiles, [
      { local: path.join(INFRA, 'cedar', 'pet-store.cedar'), inFunction: '/var/task/cedar/policies/pet-store.cedar' },
      { local: path.join(INFRA, 'cedar', 'pet-store.cedarschema'), inFunction: '/var/task/cedar/schema/pet-store.cedarschema' },
    ]);
    const env = vars('ApiAuthz-dev-pet-store-request');
    assert.equal(env.AUTHZ_CEDAR_POLICIES, '/var/task/cedar/policies/pet-store.cedar');
    assert.equal(env.AUTHZ_CEDAR_SCHEMA, '/var/task/cedar/schema/pet-store.cedarschema');
    assert.equal(env.AUTHZ_CEDAR_NAMESPACE, 'PetStore');
    assert.equal(env.AUTHZ_CEDAR_GROUPS_CLAIM, 'groups');
    const rules = JSON.parse(env.AUTHZ_ROUTES) as { route: string; cedar?: boolean }[];
    assert.deepEqual(rules.filter((r) => r.cedar).map((r) => r.route), ['PUT /pets/{petId}', 'DELETE /pets/{petId}']);

    const token = stack.authorizers['pet-store'].token!;
    assert.deepEqual(token.features, { introspection: false, replayStore: false, cedar: false });
    assert.deepEqual(token.bundledFiles, []);
    const tokenEnv = vars('ApiAuthz-dev-pet-store-token');
    assert.deepEqual(Object.keys(tokenEnv).filter((k) => k.startsWith('AUTHZ_CEDAR_')), []);
    assert.equal(stack.authorizers['solar-system'].http!.features.cedar, false);
  });

  /** The shipped table with PetStore's Cedar files replaced by these texts. */
  function withPolicies(policies: string, schema?: string, cacheTtlSeconds?: number) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cedar-synth-'));
    fs.writeFileSync(path.join(dir, 'p.cedar'), policies);
    fs.writeFileSync(path.join(dir, 's.cedarschema'), schema ?? fs.readFileSync(path.join(INFRA, 'cedar', 'pet-store.cedarschema'), 'utf8'));
    const doc = JSON.parse(fs.readFileSync(path.join(INFRA, 'routes.json'), 'utf8'));
    doc.apis['pet-store'].cedar.policies = path.join(dir, 'p.cedar');
    doc.apis['pet-store'].cedar.schema = path.join(dir, 's.cedarschema');
    if (cacheTtlSeconds !== undefined) doc.apis['pet-store'].cacheTtlSeconds = cacheTtlSeconds;
    return { table: table(doc), dir };
  }

  it('a policy naming an undeclared attribute fails synth with the file, line and Cedar\'s message', () => {
    const { table: t, dir } = withPolicies('permit (principal, action == PetStore::Action::"put /pets/{petId}", resource)\n  when { principal.department == "x" };\n');
    assert.throws(
      () => synth({}, t),
      (e: Error) => {
        assert.match(e.message, /^pet-store: the Cedar policies do not validate against their schema:\n  - /);
        assert.ok(e.message.includes(`${path.join(dir, 'p.cedar')}:2:10: for policy \`policy0\`, attribute \`department\` on entity type \`PetStore::User\` not found`), e.message);
        return true;
      },
    );
  });

  it('cached: a policy reading the context fails synth, though the schema declares one', () => {
    const schema = fs
      .readFileSync(path.join(INFRA, 'cedar', 'pet-store.cedarschema'), 'utf8')
      .replace('resource: [Application]', 'resource: [Application],\n        context: { sourceIp: String }');
    const reads = 'permit (principal, action == PetStore::Action::"put /pets/{petId}", resource) when { context.sourceIp == "10.0.0.1" };\n';
    assert.throws(() => synth({}, withPolicies(reads, schema).table), /p\.cedar:1:\d+: .*sourceIp.*validated with an empty context: the pet-store authorizers cache answers/);
  });

  it('a Cedar route whose action the schema does not declare fails synth with the cold start\'s message (authz-config)', () => {
    const schema = fs.readFileSync(path.join(INFRA, 'cedar', 'pet-store.cedarschema'), 'utf8').replace(', "delete /pets/{petId}"', '');
    const policies = 'permit (principal, action == PetStore::Action::"put /pets/{petId}", resource);\n';
    assert.throws(
      () => synth({}, withPolicies(policies, schema).table),
      /pet-store: AUTHZ_ROUTES: rule #3 \(`DELETE \/pets\/\{petId\}`\): the Cedar schema declares no action `PetStore::Action::"delete \/pets\/\{petId\}"` for this route \(the request authorizer's configuration, as its cold start reads it\)/,
    );
  });

  it('templates and their links: shipped and named when good; a bad link fails synth with the cold start\'s message (authz-config)', () => {
    const policies = '@id("group-puts")\npermit (principal in ?principal, action == PetStore::Action::"put /pets/{petId}", resource);\n';
    const withLinks = (links: unknown) => {
      const { dir } = withPolicies(policies);
      fs.writeFileSync(path.join(dir, 'links.json'), JSON.stringify(links));
      const doc = JSON.parse(fs.readFileSync(path.join(INFRA, 'routes.json'), 'utf8'));
      doc.apis['pet-store'].cedar = { ...doc.apis['pet-store'].cedar, policies: path.join(dir, 'p.cedar'), schema: path.join(dir, 's.cedarschema'), templateLinks: path.join(dir, 'links.json') };
      return table(doc);
    };
    const good = [{ policyId: 'editors-put', policyTemplateId: 'group-puts', principal: { entityType: 'PetStore::UserGroup', entityId: 'editors' } }];
    const { stack: linked } = synth({}, withLinks(good));
    const request = linked.authorizers['pet-store'].request!;
    assert.deepEqual(
      request.bundledFiles.map((f) => f.inFunction),
      ['/var/task/cedar/policies/p.cedar', '/var/task/cedar/schema/s.cedarschema', '/var/task/cedar/templateLinks/links.json'],
    );
    const bad = [{ policyId: 'ops-put', policyTemplateId: 'group-puts', principal: { entityType: 'PetStore::Group', entityId: 'ops' } }];
    assert.throws(() => synth({}, withLinks(bad)), /AUTHZ_CEDAR_TEMPLATE_LINKS: .*links\.json: link #1 \(`ops-put`\): .*PetStore::Group/);
  });

  it('Cedar settings come from routes.json only: flat ones are generated, and a document turning Cedar on for an authorizer built without it fails synth', () => {
    assert.throws(() => synth({ authzEnvironment: '{"AUTHZ_CEDAR_GROUPS_CLAIM":"roles"}' }), /AUTHZ_CEDAR_GROUPS_CLAIM is generated/);
    // The token authorizer decides no Cedar route, so its build leaves Cedar out; a document
    // giving it policies parses at synth (authz-config has Cedar) and would fail every cold start.
    const document = JSON.stringify({
      cedar_policies: path.join(INFRA, 'cedar', 'pet-store.cedar'),
      cedar_schema: path.join(INFRA, 'cedar', 'pet-store.cedarschema'),
      cedar_namespace: 'PetStore',
    });
    assert.throws(
      () => synth({ authzEnvironment: JSON.stringify({ AUTHZ_CONFIG: document }) }),
      /pet-store: the token authorizer's configuration needs the cargo feature cedar, which its build leaves out/,
    );
  });

  it('the table as shipped synthesizes with its Cedar routes', () => {
    assert.ok(shipped.apis.some((a) => a.cedar !== undefined));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
