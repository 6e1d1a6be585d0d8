/**
 * The GitHub deploy roles' permissions (`.github/iam/<environment>-role-policy.json`, what
 * `.github/README.md` step 5 puts on the roles), evaluated by an IAM policy simulator
 * (@cloud-copilot/iam-simulate) against every AWS call the CI path makes with the role's own
 * credentials:
 * - the CDK CLI's `sts:AssumeRole` on each role the synthesized cloud assembly names (deploy,
 *   asset publishing, lookup), read from the assembly, not written here;
 * - every `aws <service> <operation>` in the workflows' `run:` steps and the scripts they call,
 *   which must be one of lib/ci-permissions.ts's calls (bin/smoke.ts builds its command from there).
 * A permission missing from a file fails here; so does one the file grants that nothing uses.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { parse } from 'yaml';
import { type AwsCall, CI_AWS_CALLS, type CallScope, awsCommandsIn, resolveCdkRoleArn } from '../lib/ci-permissions';
import type { DeployEnvironment } from '../lib/stage-name';
import { synth, synthWithoutIssuer } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const ENVIRONMENTS: readonly DeployEnvironment[] = ['preview', 'production'];
const SCOPE: CallScope = { partition: 'aws', account: '123456789012', region: 'eu-west-1', userPoolId: 'eu-west-1_AbCdEf123' };

type Policy = { Version: string; Statement: { Sid?: string; Effect: string; Action: string | string[]; Resource: string | string[] }[] };

/** The policy file of an environment's role, placeholders filled in as README step 5 does. */
function policyFile(env: DeployEnvironment): string {
  return path.join(ROOT, '.github', 'iam', `${env}-role-policy.json`);
}
function policyOf(env: DeployEnvironment, scope: CallScope = SCOPE): Policy {
  const text = fs.readFileSync(policyFile(env), 'utf8').replaceAll('{{ACCOUNT}}', scope.account).replaceAll('{{REGION}}', scope.region);
  assert.doesNotMatch(text, /\{\{/, `${policyFile(env)}: only {{ACCOUNT}} and {{REGION}} are filled in`);
  return JSON.parse(text) as Policy;
}

/** The simulator's verdict on one call of the deploy role holding exactly `policy`. */
async function decide(policy: Policy, action: string, resource: string, account = SCOPE.account): Promise<string> {
  const r = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${SCOPE.account}:assumed-role/authz-deploy/GitHubActions`,
        action,
        resource: { resource, accountId: account },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'deploy-role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (r.resultType === 'error') throw new Error(`simulation of ${action} on ${resource}: ${JSON.stringify(r.errors)}`);
  return r.overallResult;
}

/** A role the assembly tells the CDK CLI to assume, and whether with session tags (then it needs sts:TagSession too). */
interface RoleUse {
  readonly arn: string;
  readonly tags: boolean;
}

/** The roles the CDK CLI assumes for the app's stack: from the synthesized assembly (stack and asset manifests). */
function cdkRoleUses(context: Record<string, unknown>, withIssuer: boolean): RoleUse[] {
  const { app, stack } = withIssuer ? synth(context) : synthWithoutIssuer(context);
  const assembly = app.synth();
  const artifact = assembly.getStackArtifact(stack.artifactId);
  type Assume = { assumeRoleArn?: string; assumeRoleAdditionalOptions?: { Tags?: unknown[] } };
  const uses: RoleUse[] = [];
  const add = (a: Assume | undefined, arn = a?.assumeRoleArn) => {
    if (arn) uses.push({ arn: resolveCdkRoleArn(arn, SCOPE), tags: (a?.assumeRoleAdditionalOptions?.Tags ?? []).length > 0 });
  };
  const props = artifact.manifest.properties as Assume & { lookupRole?: Assume & { arn?: string } };
  add(props);
  add(props.lookupRole, props.lookupRole?.arn);
  for (const dep of artifact.dependencies) {
    const file = (dep as { file?: string }).file;
    if (!file || !file.endsWith('.assets.json')) continue;
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, { destinations: Record<string, Assume> }>>;
    for (const kind of ['files', 'dockerImages']) {
      for (const asset of Object.values(manifest[kind] ?? {})) for (const d of Object.values(asset.destinations)) add(d);
    }
  }
  return uses;
}

function cdkRoles(context: Record<string, unknown>, withIssuer: boolean): string[] {
  return [...new Set(cdkRoleUses(context, withIssuer).map((u) => u.arn))];
}

interface Job {
  readonly file: string;
  readonly id: string;
  readonly environments: readonly DeployEnvironment[];
  readonly script: string;
}

/** Every job's shell code (its `run:` steps and the repository scripts they call), with the environments it runs in. */
function workflowJobs(): Job[] {
  const dir = path.join(ROOT, '.github', 'workflows');
  const jobs: Job[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
    const doc = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { jobs: Record<string, { environment?: string; steps?: { run?: string }[] }> };
    for (const [id, job] of Object.entries(doc.jobs)) {
      const runs = (job.steps ?? []).flatMap((s) => (s.run ? [s.run] : []));
      const scripts = runs.flatMap((r) => [...r.matchAll(/\bscripts\/[a-z0-9-]+\.sh\b/g)].map((m) => m[0]));
      const called = [...new Set(scripts)].map((s) => fs.readFileSync(path.join(ROOT, s), 'utf8'));
      // What they source (scripts/deploy.sh and destroy.sh: infra/scripts/common.sh).
      for (const text of [...called]) {
        for (const m of text.matchAll(/^\s*(?:\.|source) "\$ROOT\/([^"]+)"/gm)) called.push(fs.readFileSync(path.join(ROOT, m[1]), 'utf8'));
      }
      const env = job.environment;
      const environments: DeployEnvironment[] =
        env === undefined ? [] : ENVIRONMENTS.includes(env as DeployEnvironment) ? [env as DeployEnvironment] : [...ENVIRONMENTS];
      jobs.push({ file, id, environments, script: [...runs, ...called].join('\n') });
    }
  }
  return jobs;
}

function callOf(service: string, operation: string): AwsCall | undefined {
  return CI_AWS_CALLS.find((c) => c.cli[0] === service && c.cli[1] === operation);
}

/** Every (action, resource) the role of `env` is used for. */
let allCdkRoleUses: RoleUse[] | undefined;
function needs(env: DeployEnvironment): { action: string; resource: string; by: string }[] {
  // A branch stage with and without an issuer, and prod: the roles do not depend on the stage, but this is what CI deploys.
  allCdkRoleUses ??= [...cdkRoleUses({}, true), ...cdkRoleUses({}, false), ...cdkRoleUses({ stage: 'prod' }, true)];
  const cdk = allCdkRoleUses.flatMap((u) => [
    { action: 'sts:AssumeRole', resource: u.arn, by: 'the CDK CLI (cdk deploy / destroy)' },
    ...(u.tags ? [{ action: 'sts:TagSession', resource: u.arn, by: 'the CDK CLI (session tags of the assembly)' }] : []),
  ]);
  const unique = [...new Map(cdk.map((n) => [`${n.action} ${n.resource}`, n])).values()];
  return [
    ...unique,
    ...CI_AWS_CALLS.filter((c) => c.environments.includes(env) && !c.needsNoPermission).map((c) => ({ action: c.action, resource: c.resource(SCOPE), by: c.by })),
  ];
}

describe('the deploy roles\' policies (.github/iam), evaluated', () => {
  it('the CDK CLI assumes the bootstrap deploy role and the asset publishing role (from the assembly)', () => {
    const roles = cdkRoles({}, true);
    assert.ok(roles.includes(`arn:aws:iam::${SCOPE.account}:role/cdk-hnb659fds-deploy-role-${SCOPE.account}-${SCOPE.region}`), roles.join(' '));
    assert.ok(roles.some((r) => /file-publishing-role/.test(r)), roles.join(' '));
    for (const r of roles) assert.doesNotMatch(r, /\$\{/, r);
  });

  it('every aws command of the workflows and their scripts is a known CI call, in a job that has a role for it', () => {
    let seen = 0;
    for (const job of workflowJobs()) {
      for (const [service, operation] of awsCommandsIn(job.script)) {
        seen++;
        const call = callOf(service, operation);
        assert.ok(call, `${job.file} job ${job.id}: aws ${service} ${operation} is not in lib/ci-permissions.ts CI_AWS_CALLS`);
        assert.ok(job.environments.length > 0, `${job.file} job ${job.id}: aws ${service} ${operation} in a job without an environment (no deploy role)`);
        for (const env of job.environments) {
          assert.ok(call.environments.includes(env), `${job.file} job ${job.id}: aws ${service} ${operation} runs in ${env}, CI_AWS_CALLS says ${call.environments.join(', ')}`);
        }
      }
    }
    assert.ok(seen > 0, 'the sweep\'s describe-stacks at least');
  });

  it('the code that calls the AWS CLI takes its command from lib/ci-permissions.ts', () => {
    for (const dir of ['bin', 'lib']) {
      for (const f of fs.readdirSync(path.join(ROOT, 'infra', dir)).filter((x) => x.endsWith('.ts'))) {
        const src = fs.readFileSync(path.join(ROOT, 'infra', dir, f), 'utf8');
        if (!/\b(execFile|spawn|execFileSync|spawnSync)\(\s*'aws'/.test(src)) continue;
        assert.match(src, /from '\.\.\/lib\/ci-permissions'/, `infra/${dir}/${f} runs the aws CLI: take the call from lib/ci-permissions.ts`);
        for (const call of CI_AWS_CALLS) assert.ok(!src.includes(`'${call.cli[1]}'`), `infra/${dir}/${f}: spells ${call.cli[1]} itself`);
      }
    }
  });

  for (const env of ENVIRONMENTS) {
    it(`${env}: allows every call the CI path makes with the role`, async () => {
      const policy = policyOf(env);
      for (const n of needs(env)) {
        assert.equal(await decide(policy, n.action, n.resource), 'Allowed', `${policyFile(env)}: ${n.action} on ${n.resource} (${n.by}) is denied`);
      }
    });

    it(`${env}: grants nothing else (every statement is needed, every action is used)`, async () => {
      const policy = policyOf(env);
      const used = new Set(needs(env).map((n) => n.action));
      for (const s of policy.Statement) {
        assert.equal(s.Effect, 'Allow');
        for (const a of [s.Action].flat()) assert.ok(used.has(a), `${policyFile(env)} statement ${s.Sid}: ${a} is not a call CI makes in ${env}`);
        const without: Policy = { ...policy, Statement: policy.Statement.filter((x) => x !== s) };
        const verdicts = await Promise.all(needs(env).map((n) => decide(without, n.action, n.resource)));
        assert.ok(verdicts.some((v) => v !== 'Allowed'), `${policyFile(env)} statement ${s.Sid} is not needed by any call`);
      }
    });

    it(`${env}: reaches no other account or region`, async () => {
      const policy = policyOf(env);
      assert.equal(await decide(policy, 'sts:AssumeRole', 'arn:aws:iam::210987654321:role/cdk-hnb659fds-deploy-role-210987654321-eu-west-1', '210987654321'), 'ImplicitlyDenied');
      assert.equal(await decide(policy, 'sts:AssumeRole', `arn:aws:iam::${SCOPE.account}:role/cdk-hnb659fds-deploy-role-${SCOPE.account}-us-east-1`), 'ImplicitlyDenied');
      assert.equal(await decide(policy, 'sts:AssumeRole', `arn:aws:iam::${SCOPE.account}:role/Admin`), 'ImplicitlyDenied');
      assert.equal(await decide(policy, 'cognito-idp:DescribeUserPoolClient', `arn:aws:cognito-idp:us-east-1:${SCOPE.account}:userpool/us-east-1_X`), 'ImplicitlyDenied');
    });
  }

  it('production lists no stacks (the sweep runs in preview only)', async () => {
    assert.equal(await decide(policyOf('production'), 'cloudformation:DescribeStacks', '*'), 'ImplicitlyDenied');
  });

  it('.github/README.md puts exactly these files on the roles', () => {
    const readme = fs.readFileSync(path.join(ROOT, '.github', 'README.md'), 'utf8');
    assert.match(readme, /\.github\/iam\/\$ENV-role-policy\.json/);
    assert.match(readme, /put-role-policy --role-name "authz-deploy-\$ENV"/);
  });
});
