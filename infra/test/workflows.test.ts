/**
 * The GitHub workflows' behaviour that a wrong line would break in a real repository: which
 * events deploy, which check is required, how production is decided and guarded, how deploy and
 * destroy of one branch are ordered, and which repository variables reach the smoke test. The
 * YAML is parsed; the shell steps that decide something are run with bash (and real git).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadRouteTable } from '../lib/route-table';
import { clientVariables, tokenParamsVariable } from '../lib/smoke';
import { type Job, type Step, step, workflow } from './workflow-yaml';

const ROOT = path.resolve(__dirname, '..', '..');

/** `${{ expr }}` → `expr`. */
function expression(v: string): string {
  const m = /^\$\{\{\s*([\s\S]*?)\s*\}\}$/.exec(v.trim());
  assert.ok(m, `${v} is an expression`);
  return m[1];
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-workflows-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Runs a step's `run:` as GitHub does (bash -eo pipefail), with its env; returns status and GITHUB_OUTPUT. */
function runStep(s: Step, env: Record<string, string>, cwd = ROOT): { status: number | null; output: Record<string, string>; stdout: string } {
  const out = path.join(scratch, `out-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(out, '');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_OUTPUT: out, RUNNER_TEMP: scratch, ...env },
    encoding: 'utf8',
  });
  const output = Object.fromEntries(
    fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { status: r.status, output, stdout: `${r.stdout}${r.stderr}` };
}

describe('every workflow', () => {
  it('every run: step is valid bash (bash -n; actionlint checks scripts only with shellcheck installed)', () => {
    for (const file of fs.readdirSync(path.join(ROOT, '.github', 'workflows')).filter((f) => f.endsWith('.yml'))) {
      for (const [id, job] of Object.entries(workflow(file).jobs)) {
        for (const s of job.steps ?? []) {
          if (!s.run) continue;
          const script = s.run.replace(/\$\{\{[\s\S]*?\}\}/g, 'EXPR');
          const r = spawnSync('bash', ['-n', '-c', script], { encoding: 'utf8' });
          assert.equal(r.status, 0, `${file} job ${id} step ${s.name ?? s.run.slice(0, 40)}: ${r.stderr}`);
        }
      }
    }
  });
});

describe('ci.yml', () => {
  const ci = workflow('ci.yml');

  it('runs for pushed branches only, never for tags (a tag would become a stage)', () => {
    assert.deepEqual(Object.keys(ci.on).sort(), ['pull_request', 'push']);
    assert.deepEqual(ci.on.push, { branches: ['**'] }, 'a branches filter without tags: tag pushes do not trigger');
    assert.match(ci.jobs.deploy.if!, /github\.ref_type == 'branch'/);
    assert.equal(ci.jobs.deploy.with?.branch, '${{ github.ref_name }}');
    assert.equal(ci.jobs.deploy.with?.ref, '${{ github.sha }}');
    assert.equal(ci.jobs.deploy.needs, 'test');
  });

  it('the required check `test` exists only where the tests ran: the skipped job has another name', () => {
    const test = ci.jobs.test;
    // name: ${{ (<the job's if>) && 'test' || '<other>' }}
    const m = /^\((.*)\) && 'test' \|\| '([^']+)'$/.exec(expression(test.name!));
    assert.ok(m, test.name);
    assert.equal(m[1], test.if, 'the name says `test` exactly when the job runs');
    assert.notEqual(m[2], 'test');
    assert.match(test.if!, /github\.event_name == 'push'/);
    assert.match(test.if!, /head\.repo\.full_name != github\.repository/, 'fork pull requests are tested in the pull request run');
  });
});

describe('deploy.yml', () => {
  const wf = workflow('deploy.yml');
  const plan = step(wf.jobs.plan, 'Stage and environment of the branch; nothing when a later event overtook this one');
  const planStep = plan;

  it('production is the repository\'s default branch: the plan asks bin/stage-name.ts with it', () => {
    assert.equal(plan.env?.DEFAULT_BRANCH, '${{ github.event.repository.default_branch }}');
    assert.match(plan.run!, /bin\/stage-name\.ts --github-output --default-branch "\$DEFAULT_BRANCH"/);
    assert.match(plan.run!, /--remote-head "\$head"/);
    assert.match(plan.run!, /--action "\$ACTION" --ref "\$REF"/);
    const checkout = wf.jobs.plan.steps![0];
    assert.equal(checkout.with?.ref, '${{ github.event.repository.default_branch }}', 'the default branch\'s code decides');
    for (const k of ['deploy', 'stage', 'environment', 'source-branch', 'branch', 'ref', 'default-branch']) {
      assert.equal(wf.jobs.plan.outputs?.[k], `\${{ steps.plan.outputs.${k} }}`, k);
    }
  });

  it('the deploy job refuses prod from anything but the default branch, whatever the plan of the repository', () => {
    const guard = step(wf.jobs.deploy, 'Production only from the default branch');
    assert.equal(wf.jobs.deploy.steps![0], guard, 'before anything else');
    const run = (ENVIRONMENT: string, STAGE: string, BRANCH: string, DEFAULT_BRANCH: string) => runStep(guard, { ENVIRONMENT, STAGE, BRANCH, DEFAULT_BRANCH }).status;
    assert.equal(run('production', 'prod', 'main', 'main'), 0);
    assert.equal(run('production', 'prod', 'master', 'main'), 1);
    assert.equal(run('production', 'prod', 'main', ''), 1, 'no default branch known: refused');
    assert.equal(run('preview', 'prod', 'feature', 'main'), 1, 'stage prod in the preview environment: refused');
    assert.equal(run('preview', 'feature', 'feature', 'main'), 0);
    assert.equal(guard.env?.DEFAULT_BRANCH, '${{ needs.plan.outputs.default-branch }}');
  });

  it('deploy and destroy of one stage are serialized (same group, never cancelled)', () => {
    const d = wf.jobs.deploy.concurrency!;
    const x = wf.jobs.destroy.concurrency!;
    assert.equal(d.group, 'stage-${{ needs.plan.outputs.stage }}');
    assert.equal(x.group, d.group);
    assert.equal(d['cancel-in-progress'], false);
    assert.equal(x['cancel-in-progress'], false);
  });

  describe('the later event wins, checked again once the job holds the stage (real git)', () => {
    const origin = path.join(scratch, 'origin.git');
    const work = path.join(scratch, 'work');
    const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();
    fs.mkdirSync(work);
    execFileSync('git', ['init', '-q', '--bare', origin]);
    git(work, 'init', '-q', '-b', 'main');
    git(work, 'remote', 'add', 'origin', origin);
    git(work, 'commit', '-q', '--allow-empty', '-m', 'one');
    const one = git(work, 'rev-parse', 'HEAD');
    git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/feature/x', 'HEAD:refs/heads/x/feature/x');
    git(work, 'commit', '-q', '--allow-empty', '-m', 'two');
    const two = git(work, 'rev-parse', 'HEAD');

    const current = step(wf.jobs.deploy, 'Still the head of the branch?');
    const gone = step(wf.jobs.destroy, 'Still gone?');

    it('deploys only the commit the branch points at now', () => {
      assert.deepEqual(runStep(current, { BRANCH: 'feature/x', REF: one }, work).output, { current: 'true' });
      git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/feature/x');
      assert.deepEqual(runStep(current, { BRANCH: 'feature/x', REF: one }, work).output, { current: 'false' });
      assert.deepEqual(runStep(current, { BRANCH: 'feature/x', REF: two }, work).output, { current: 'true' });
      assert.deepEqual(runStep(current, { BRANCH: 'x', REF: one }, work).output, { current: 'false' }, 'a longer ref ending alike is another branch');
    });

    it('destroys only a branch that is still gone', () => {
      assert.deepEqual(runStep(gone, { BRANCH: 'feature/x' }, work).output, { gone: 'false' });
      git(work, 'push', '-q', 'origin', ':refs/heads/feature/x');
      assert.deepEqual(runStep(gone, { BRANCH: 'feature/x' }, work).output, { gone: 'true' });
      assert.deepEqual(runStep(current, { BRANCH: 'feature/x', REF: two }, work).output, { current: 'false' }, 'a deleted branch is not deployed');
    });

    it('the plan step: production only for the default branch, nothing for an overtaken or deleted branch (stand-in npm, real npx tsx)', () => {
      const repo = path.join(scratch, 'plan-repo');
      const bin = path.join(scratch, 'plan-bin');
      fs.mkdirSync(repo);
      fs.mkdirSync(bin);
      git(repo, 'init', '-q');
      git(repo, 'remote', 'add', 'origin', origin);
      fs.symlinkSync(path.join(ROOT, 'infra'), path.join(repo, 'infra'));
      fs.writeFileSync(path.join(bin, 'npm'), '#!/usr/bin/env bash\n[ "$1" = ci ]\n', { mode: 0o755 }); // node_modules are there already
      git(work, 'push', '-q', 'origin', `${two}:refs/heads/master`, `${two}:refs/heads/main`, `${two}:refs/heads/feature/y`);
      const plan = (ACTION: string, BRANCH: string, REF: string, DEFAULT_BRANCH = 'main') => {
        const r = runStep(planStep, { ACTION, BRANCH, REF, DEFAULT_BRANCH, PATH: `${bin}:${process.env.PATH}` }, repo);
        assert.equal(r.status, 0, r.stdout);
        return r.output;
      };
      assert.deepEqual(plan('deploy', 'main', two), { deploy: 'true', stage: 'prod', environment: 'production', 'source-branch': '', branch: 'main', ref: two, 'default-branch': 'main' });
      assert.equal(plan('deploy', 'master', two).environment, 'preview', 'master beside a default main');
      assert.equal(plan('deploy', 'master', two).stage, 'master');
      assert.equal(plan('deploy', 'master', two, 'master').stage, 'prod');
      assert.equal(plan('deploy', 'feature/y', two)['source-branch'], 'feature/y');
      assert.equal(plan('deploy', 'feature/y', one).deploy, 'false', 'an overtaken commit');
      assert.equal(plan('deploy', 'gone/branch', one).deploy, 'false', 'a deleted branch');
      assert.equal(plan('destroy', 'gone/branch', '').deploy, 'true');
      assert.equal(plan('destroy', 'feature/y', '').deploy, 'false', 'a branch that exists again');
      assert.equal(plan('destroy', 'main', '').deploy, 'false', 'production is never destroyed');
      const noDefault = runStep(planStep, { ACTION: 'deploy', BRANCH: 'main', REF: two, DEFAULT_BRANCH: '', PATH: `${bin}:${process.env.PATH}` }, repo);
      assert.notEqual(noDefault.status, 0, 'no default branch known: no plan');
    });

    it('every step after the check depends on it', () => {
      const after = (job: Job, check: Step) => job.steps!.slice(job.steps!.indexOf(check) + 1);
      for (const s of after(wf.jobs.deploy, current)) assert.equal(s.if, "steps.current.outputs.current == 'true'", s.name ?? s.uses);
      for (const s of after(wf.jobs.destroy, gone)) assert.equal(s.if, "steps.gone.outputs.gone == 'true'", s.name ?? s.uses);
    });
  });

  it('the roles are repository variables (GitHub Free has environment variables in public repositories only)', () => {
    const role = (job: Job) => job.steps!.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))!.with!['role-to-assume'];
    assert.equal(role(wf.jobs.deploy), "${{ needs.plan.outputs.environment == 'production' && vars.AWS_DEPLOY_ROLE_ARN_PRODUCTION || vars.AWS_DEPLOY_ROLE_ARN_PREVIEW }}");
    assert.equal(role(wf.jobs.destroy), '${{ vars.AWS_DEPLOY_ROLE_ARN_PREVIEW }}');
    assert.equal(role(workflow('cleanup.yml').jobs.sweep), '${{ vars.AWS_DEPLOY_ROLE_ARN_PREVIEW }}');
    assert.equal(wf.jobs.destroy.environment, 'preview');
    assert.match(wf.jobs.destroy.if!, /needs\.plan\.outputs\.environment == 'preview'/);
  });

  it('the smoke test gets every tier\'s client id, secret and scope, and each API\'s token parameters', () => {
    const smoke = step(wf.jobs.deploy, 'Smoke test every route with every tier of routes.json');
    const env = smoke.env!;
    const want: Record<string, string> = { SMOKE_TOKEN_URL: 'vars', SMOKE_TOKEN_PARAMS: 'vars' };
    for (const api of loadRouteTable().apis) {
      want[tokenParamsVariable(api.name)] = 'vars';
      for (const tier of Object.keys(api.tiers)) {
        const v = clientVariables(api.name, tier);
        want[v.id] = 'vars';
        want[v.secret] = 'secrets';
        want[v.scope] = 'vars';
      }
    }
    for (const [name, from] of Object.entries(want)) assert.equal(env[name], `\${{ ${from}.${name} }}`, name);
    for (const name of Object.keys(env)) assert.ok(name === 'STAGE' || name in want, `${name} is no variable of bin/smoke.ts`);
  });

  it('the deploy step hands AUTHZ_ISSUER, AUTHZ_CONTEXT, AUTHZ_INFRA_ARCH and the source branch to bin/ci-context.ts and scripts/deploy.sh', () => {
    const deploy = step(wf.jobs.deploy, 'Deploy (no terminal, so without approval prompts)');
    assert.deepEqual(deploy.env, {
      STAGE: '${{ needs.plan.outputs.stage }}',
      SOURCE_BRANCH: '${{ needs.plan.outputs.source-branch }}',
      AUTHZ_ISSUER: '${{ vars.AUTHZ_ISSUER }}',
      AUTHZ_CONTEXT: '${{ vars.AUTHZ_CONTEXT }}',
      AUTHZ_INFRA_ARCH: '${{ vars.AUTHZ_INFRA_ARCH }}',
    });
    // What the step does with them: test/scripts/ci-deploy.test.ts runs it with a stand-in cdk.
  });
});

describe('cleanup.yml', () => {
  const wf = workflow('cleanup.yml');
  it('destroys at branch deletion (the main path), sweeps nightly and by hand (the backstop)', () => {
    assert.deepEqual(Object.keys(wf.on).sort(), ['delete', 'schedule', 'workflow_dispatch']);
    assert.match(wf.jobs['deleted-branch'].if!, /github\.event\.ref_type == 'branch'/);
    assert.equal(wf.jobs['deleted-branch'].with?.action, 'destroy');
    const sweep = step(wf.jobs.sweep, 'Stages whose branch is gone');
    assert.match(sweep.run!, /--default-branch "\$default_branch"/);
    const readme = fs.readFileSync(path.join(ROOT, '.github', 'README.md'), 'utf8');
    assert.match(readme, /60 days/, '.github/README.md says scheduled workflows get disabled');
  });
});

describe('.github/README.md step 2 (API Gateway\'s CloudWatch Logs role), against a stand-in aws', () => {
  const readme = fs.readFileSync(path.join(ROOT, '.github', 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)].map((m) => m[2].replace(new RegExp(`^${m[1]}`, 'gm'), ''));
  const block = blocks.find((b) => b.includes('aws apigateway update-account'));
  const dir = path.join(scratch, 'aws-stand-in');
  fs.mkdirSync(dir);
  // Refuses the first $REFUSE update-account calls ("role still propagating"); records every call, and every sleep.
  fs.writeFileSync(
    path.join(dir, 'aws'),
    '#!/usr/bin/env bash\necho "aws $*" >> "$LOG"\nif [ "$1 $2" = "apigateway update-account" ]; then\n' +
      '  n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$COUNT"\n' +
      '  if [ "$n" -le "$REFUSE" ]; then echo "BadRequestException: The role ARN does not have required permissions" >&2; exit 254; fi\nfi\n',
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, 'sleep'), '#!/usr/bin/env bash\necho "sleep $*" >> "$LOG"\n', { mode: 0o755 });
  const run = (refuse: number) => {
    const log = path.join(dir, `log-${refuse}`);
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', block!], {
      env: { PATH: `${dir}:${process.env.PATH}`, LOG: log, COUNT: path.join(dir, `count-${refuse}`), REFUSE: String(refuse), ACCOUNT: '123456789012', REGION: 'eu-west-1' },
      encoding: 'utf8',
    });
    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
    return { status: r.status, stderr: r.stderr, updates: lines.filter((l) => l.startsWith('aws apigateway update-account')).length, sleeps: lines.filter((l) => l.startsWith('sleep')).length };
  };

  it('tries update-account again while the new role propagates', () => {
    assert.ok(block, 'the step 2 block');
    const r = run(3);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.updates, 4);
    assert.equal(r.sleeps, 3);
  });

  it('gives up after a bound, failing, with a message', () => {
    const r = run(1_000);
    assert.notEqual(r.status, 0);
    assert.equal(r.updates, 12);
    assert.equal(r.sleeps, 11);
    assert.match(r.stderr, /still refused after 2 minutes/);
  });
});
