#!/usr/bin/env -S npx tsx
/**
 * The CDK context a CI deploy passes to scripts/deploy.sh, from repository variables: every
 * setting a local `cdk deploy -c key=value` accepts has a path in CI.
 *
 *   AUTHZ_ISSUER    the issuer (`-c issuer=`); empty: the stage's own Cognito user pool
 *   AUTHZ_CONTEXT   a JSON object of any other context keys of infra/README.md, e.g.
 *                   {"audiences":{"pet-store":"api://petstore"},"authzEnvironment":{"AUTHZ_CLIENT_ID":"a,b"}}
 *   SOURCE_BRANCH   the branch a preview stage is for (`-c sourceBranch=`; empty for prod)
 *
 * Prints the `-c key=value` arguments NUL-separated (`mapfile -d ''`), or exits 2 naming the
 * problem: an unknown key, one CI sets itself (`stage`, `sourceBranch`; the architecture comes
 * from AUTHZ_INFRA_ARCH), the issuer twice, a value that is no string, number, boolean, list or
 * object.
 */
import { CONTEXT_KEYS, type ContextKey } from './context';

/** Keys the workflow sets itself, with where to set them instead. */
const SET_BY_CI: Partial<Record<ContextKey, string>> = {
  stage: 'the stage comes from the branch (bin/stage-name.ts)',
  sourceBranch: 'CI sets it for preview stages',
  architecture: 'set the repository variable AUTHZ_INFRA_ARCH (arm64 or x86_64) instead',
};

export class CiContextError extends Error {}

/** One context value as `-c key=value` text, as bin/context.ts reads it back. */
function text(key: string, v: unknown): string {
  if (JSON.stringify(v)?.includes('\\u0000')) throw new CiContextError(`AUTHZ_CONTEXT.${key}: contains a NUL character`);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(',');
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return JSON.stringify(v);
  throw new CiContextError(`AUTHZ_CONTEXT.${key}: a string, number, boolean, list of strings or object`);
}

/** The `-c` arguments (flattened: `-c`, `key=value`, …) for these variables. */
export function ciContextArgs(vars: { readonly issuer?: string; readonly context?: string; readonly sourceBranch?: string }): string[] {
  let doc: Record<string, unknown> = {};
  if (vars.context !== undefined && vars.context.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vars.context);
    } catch (e) {
      throw new CiContextError(`AUTHZ_CONTEXT: not JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CiContextError('AUTHZ_CONTEXT: a JSON object of context keys');
    doc = parsed as Record<string, unknown>;
  }
  const args: string[] = [];
  const issuer = vars.issuer?.trim() ?? '';
  if (issuer !== '') {
    if ('issuer' in doc) throw new CiContextError('the issuer is set twice: AUTHZ_ISSUER and AUTHZ_CONTEXT.issuer; keep one');
    args.push('-c', `issuer=${issuer}`);
  }
  for (const [key, value] of Object.entries(doc)) {
    if (!(CONTEXT_KEYS as readonly string[]).includes(key)) {
      throw new CiContextError(`AUTHZ_CONTEXT.${key}: not a context key of the app (infra/README.md lists them: ${CONTEXT_KEYS.join(', ')})`);
    }
    const why = SET_BY_CI[key as ContextKey];
    if (why !== undefined) throw new CiContextError(`AUTHZ_CONTEXT.${key}: ${why}`);
    args.push('-c', `${key}=${text(key, value)}`);
  }
  const branch = vars.sourceBranch?.trim() ?? '';
  if (branch !== '') args.push('-c', `sourceBranch=${branch}`);
  return args;
}

if (require.main === module) {
  try {
    const args = ciContextArgs({ issuer: process.env.AUTHZ_ISSUER, context: process.env.AUTHZ_CONTEXT, sourceBranch: process.env.SOURCE_BRANCH });
    process.stdout.write(args.map((a) => `${a}\0`).join(''));
  } catch (e) {
    if (!(e instanceof CiContextError)) throw e;
    process.stderr.write(`ci-context: ${e.message}\n`);
    process.exitCode = 2;
  }
}
