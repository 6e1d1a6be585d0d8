/**
 * Cedar-decided routes in the CDK app: which files an authorizer ships and the settings naming
 * them (one list, route-table.ts `CEDAR_FILES`), and the synth-time validation of the policies
 * against the schema with `@cedar-policy/cedar-wasm`, the Cedar engine the authorizers link.
 *
 * What validates here is what the cold start parses: the authorizer does not validate again
 * (README, "Cedar policies"). Parsing, the entity mapping and the check that each Cedar route's
 * action is declared are the authorizer's own: `authz-config` runs them at synth with the same
 * files (authz-config.ts), so they are not derived twice.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { policySetOf } from './cedar-decide';
import { type ApiSpec, CEDAR_FILES, type CedarFileKey, type LambdaAuthorizerType, routesGuardedBy } from './route-table';

/** Where an API's Cedar files land in the function (`/var/task` is Lambda's task root). */
export const CEDAR_TASK_DIR = '/var/task/cedar';

/** One file an authorizer ships: its setting, the file on this machine, and its path in the function. */
export interface BundledFile {
  readonly setting: string;
  readonly local: string;
  readonly inFunction: string;
}

/** Whether the authorizer of `type` on `api` decides any route with Cedar (then it is built with the `cedar` feature). */
export function decidesWithCedar(api: ApiSpec, type: LambdaAuthorizerType): boolean {
  return api.cedar !== undefined && routesGuardedBy(api, type).some((r) => r.cedar);
}

/**
 * The Cedar files the authorizer of `type` ships (none unless it decides a route with Cedar),
 * each at `/var/task/cedar/<key>/<file name>` (the key keeps two files of one name apart; the
 * name keeps the `.json` a JSON schema is read by).
 */
export function cedarFilesOf(api: ApiSpec, type: LambdaAuthorizerType): BundledFile[] {
  if (!decidesWithCedar(api, type)) return [];
  return (Object.keys(CEDAR_FILES) as CedarFileKey[]).flatMap((key) => {
    const local = api.cedar!.files[key];
    return local === undefined ? [] : [{ setting: CEDAR_FILES[key], local, inFunction: `${CEDAR_TASK_DIR}/${key}/${path.basename(local)}` }];
  });
}

/**
 * The `AUTHZ_CEDAR_*` variables of the authorizer of `type` (empty unless it decides a route with
 * Cedar); files as `where` says: in the function (deployed) or on this machine (synth's
 * `authz-config` run).
 */
export function cedarEnvironment(api: ApiSpec, type: LambdaAuthorizerType, where: 'inFunction' | 'local'): Record<string, string> {
  const files = cedarFilesOf(api, type);
  if (files.length === 0 || !api.cedar) return {};
  const env: Record<string, string> = Object.fromEntries(files.map((f) => [f.setting, f[where]]));
  env.AUTHZ_CEDAR_NAMESPACE = api.cedar.namespace;
  if (api.cedar.groupsClaim !== undefined) env.AUTHZ_CEDAR_GROUPS_CLAIM = api.cedar.groupsClaim;
  if (api.cedar.entityPrefix !== '') env.AUTHZ_CEDAR_ENTITY_PREFIX = api.cedar.entityPrefix;
  return env;
}

/** A bad policy set or schema: one line per problem, `file:line:column: Cedar's message`. */
export class CedarValidationError extends Error {
  constructor(
    readonly api: string,
    readonly problems: readonly string[],
  ) {
    super(`${api}: the Cedar policies do not validate against their schema:\n  - ${problems.join('\n  - ')}`);
    this.name = 'CedarValidationError';
  }
}

/** `file:line:column` of an offset into `text` (1-based). */
function position(file: string, text: string, offset: number): string {
  const before = text.slice(0, Math.min(offset, text.length));
  const line = before.split('\n').length;
  const column = before.length - (before.lastIndexOf('\n') + 1) + 1;
  return `${file}:${line}:${column}`;
}

/** One of Cedar's errors as a line naming the file and the place (its first source label). */
function describe(file: string, text: string, e: cedar.DetailedError): string {
  const at = e.sourceLocations?.[0];
  const where = at === undefined ? file : position(file, text, at.start);
  const label = at?.label ? ` (${at.label})` : '';
  const help = e.help ? ` (${e.help})` : '';
  return `${where}: ${e.message}${label}${help}`;
}

/**
 * Strict validation of an API's policies against its schema, as the README promises before
 * deploy: a policy naming an unknown action, entity type or attribute fails. When the API's
 * authorizers cache their answers (`cacheTtlSeconds` above 0), the schema's actions are
 * validated with an empty context, whatever the schema declares: a cached answer is reused for
 * other requests, so a policy reading `context` would decide one request for another (the
 * authorizer passes an empty context, and such a policy errs, which denies). Throws a
 * {@link CedarValidationError}; an API without `cedar` passes.
 */
export function validateCedar(api: ApiSpec): void {
  if (!api.cedar) return;
  const files = api.cedar.files;
  const read = (key: CedarFileKey): { file: string; text: string } => {
    const file = files[key]!;
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new CedarValidationError(api.name, [`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
    }
  };
  const policies = read('policies');
  const schema = read('schema');
  const problems: string[] = [];

  let schemaJson: cedar.SchemaJson<string>;
  if (schema.file.endsWith('.json')) {
    try {
      schemaJson = JSON.parse(schema.text) as cedar.SchemaJson<string>;
    } catch (e) {
      throw new CedarValidationError(api.name, [`${schema.file}: not JSON: ${(e as Error).message}`]);
    }
    const checked = cedar.checkParseSchema(schemaJson);
    if (checked.type === 'failure') throw new CedarValidationError(api.name, checked.errors.map((e) => describe(schema.file, schema.text, e)));
  } else {
    const parsed = cedar.schemaToJson(schema.text);
    if (parsed.type === 'failure') throw new CedarValidationError(api.name, parsed.errors.map((e) => describe(schema.file, schema.text, e)));
    schemaJson = parsed.json;
  }
  const set = policySetOf(policies.text);
  const parsedPolicies = set === undefined ? cedar.checkParsePolicySet({ staticPolicies: policies.text }) : cedar.checkParsePolicySet(set.policies);
  if (parsedPolicies.type === 'failure') {
    throw new CedarValidationError(api.name, parsedPolicies.errors.map((e) => describe(policies.file, policies.text, e)));
  }

  const cached = api.cacheTtlSeconds > 0;
  const validated = cached ? withoutContext(schemaJson) : schemaJson;
  const answer = cedar.validate({ schema: validated, policies: set?.policies ?? { staticPolicies: policies.text }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') {
    problems.push(...answer.errors.map((e) => describe(schema.file, schema.text, e)));
  } else {
    for (const v of answer.validationErrors) {
      const shift = set?.templateOffsets.get(v.policyId) ?? 0;
      const at = v.error.sourceLocations?.map((l) => ({ ...l, start: l.start + shift, end: l.end + shift }));
      const line = describe(policies.file, policies.text, { ...v.error, sourceLocations: at });
      const readsContext = cached && /\bcontext\b/.test(v.error.message);
      problems.push(
        readsContext
          ? `${line} [validated with an empty context: the ${api.name} authorizers cache answers (cacheTtlSeconds ${api.cacheTtlSeconds}), so a policy may not depend on the request]`
          : line,
      );
    }
  }
  if (problems.length > 0) throw new CedarValidationError(api.name, problems);
}

/** The schema with every action's context removed (Cedar then validates `context` as an empty record). */
export function withoutContext(schema: cedar.SchemaJson<string>): cedar.SchemaJson<string> {
  const copy = JSON.parse(JSON.stringify(schema)) as cedar.SchemaJson<string>;
  for (const ns of Object.values(copy)) {
    for (const action of Object.values(ns.actions ?? {})) {
      if (action.appliesTo) delete action.appliesTo.context;
    }
  }
  return copy;
}
