/**
 * deploy.yml's deploy step as the runner runs it (bash -eo pipefail, the step's env from
 * repository variables), with a stand-in `cdk` on PATH that records its arguments: every context
 * key of bin/context.ts reaches `cdk deploy` as `-c key=value` through a repository variable.
 * Run by scripts/test-infra.sh after it installed cargo-lambda (scripts/deploy.sh checks for it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CONTEXT_KEYS } from '../../bin/context';
import { step, workflow } from '../workflow-yaml';
import { writeStandInAws } from './stand-ins';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-ci-deploy-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
const stubDir = path.join(scratch, 'bin');
fs.mkdirSync(stubDir);
fs.writeFileSync(path.join(stubDir, 'cdk'), '#!/usr/bin/env bash\nset -euo pipefail\nfor a in "$@"; do printf "%s\\0" "$a"; done > "$CDK_RECORD"\n', { mode: 0o755 });
// scripts/deploy.sh checks the credentials first: a stand-in `aws` with an account.
writeStandInAws(stubDir);

const deployStep = step(workflow('deploy.yml').jobs.deploy, 'Deploy (no terminal, so without approval prompts)');

/** The step with repository variables `vars` (unset ones empty, as GitHub passes them); the stand-in's arguments. */
function runDeployStep(vars: { AUTHZ_ISSUER?: string; AUTHZ_CONTEXT?: string; AUTHZ_INFRA_ARCH?: string }, stage: string, sourceBranch: string) {
  const record = path.join(scratch, `record-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', deployStep.run!], {
    cwd: ROOT,
    env: {
      PATH: `${stubDir}:${process.env.PATH}`,
      HOME: process.env.HOME,
      RUNNER_TEMP: scratch,
      AUTHZ_CDK: 'cdk',
      STANDIN_AWS_ACCOUNT: '123456789012',
      CDK_RECORD: record,
      STAGE: stage,
      SOURCE_BRANCH: sourceBranch,
      AUTHZ_ISSUER: vars.AUTHZ_ISSUER ?? '',
      AUTHZ_CONTEXT: vars.AUTHZ_CONTEXT ?? '',
      AUTHZ_INFRA_ARCH: vars.AUTHZ_INFRA_ARCH ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const args = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\0').slice(0, -1) : undefined;
  return { status: r.status, out: `${r.stdout}${r.stderr}`, args };
}

/** The `-c` values, in order. */
function contextOf(args: readonly string[]): string[] {
  return args.flatMap((a, i) => (a === '-c' ? [args[i + 1]] : []));
}

describe('deploy.yml deploy step (stand-in cdk)', () => {
  it('hands every context key through a repository variable', () => {
    const handedByCi = new Set(['stage', 'sourceBranch', 'architecture']);
    const given: Record<string, unknown> = {};
    for (const key of CONTEXT_KEYS) if (!handedByCi.has(key) && key !== 'issuer') given[key] = `value of ${key}, with = and spaces`;
    given.audiences = { 'pet-store': 'api://petstore', 'solar-system': 'solar' };
    given.authzEnvironment = { AUTHZ_CLIENT_ID: 'id1,id2' };
    given.algorithms = ['RS256', 'ES256'];
    given.memorySizeMb = 256;
    given.tracing = true;
    const r = runDeployStep(
      { AUTHZ_ISSUER: 'https://login.microsoftonline.com/tid/v2.0', AUTHZ_CONTEXT: JSON.stringify(given), AUTHZ_INFRA_ARCH: 'x86_64' },
      'feature-x',
      'feature/x',
    );
    assert.equal(r.status, 0, r.out);
    const c = contextOf(r.args!);
    const has = (kv: string) => assert.ok(c.includes(kv), `${kv} in ${JSON.stringify(c)}`);
    has('stage=feature-x');
    has('architecture=x86_64');
    has('issuer=https://login.microsoftonline.com/tid/v2.0');
    has('sourceBranch=feature/x');
    has('audiences={"pet-store":"api://petstore","solar-system":"solar"}');
    has('authzEnvironment={"AUTHZ_CLIENT_ID":"id1,id2"}');
    has('algorithms=RS256,ES256');
    has('memorySizeMb=256');
    has('tracing=true');
    for (const key of CONTEXT_KEYS) {
      assert.equal(c.filter((kv) => kv.startsWith(`${key}=`)).length, 1, `${key} is passed once`);
    }
  });

  it('no issuer: no -c issuer (the stage\'s own user pool); production: no sourceBranch', () => {
    const r = runDeployStep({}, 'prod', '');
    assert.equal(r.status, 0, r.out);
    const c = contextOf(r.args!);
    assert.ok(!c.some((kv) => kv.startsWith('issuer=')), JSON.stringify(c));
    assert.ok(!c.some((kv) => kv.startsWith('sourceBranch=')), JSON.stringify(c));
  });

  it('an unknown key, a key CI sets, the issuer twice: the step fails before cdk runs, naming it', () => {
    for (const [ctx, issuer, message] of [
      ['{"issuerr":"x"}', '', /AUTHZ_CONTEXT\.issuerr: not a context key/],
      ['{"stage":"prod"}', '', /AUTHZ_CONTEXT\.stage: the stage comes from the branch/],
      ['{"architecture":"arm64"}', '', /AUTHZ_INFRA_ARCH/],
      ['{"issuer":"https://a"}', 'https://b', /set twice/],
      ['not json', '', /AUTHZ_CONTEXT: not JSON/],
    ] as const) {
      const r = runDeployStep({ AUTHZ_CONTEXT: ctx, AUTHZ_ISSUER: issuer }, 'feature-x', 'feature-x');
      assert.notEqual(r.status, 0, ctx);
      assert.equal(r.args, undefined, `${ctx}: cdk was not called`);
      assert.match(r.out, message);
    }
  });
});
