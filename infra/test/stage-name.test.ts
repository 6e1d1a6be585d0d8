import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_STAGE } from '../bin/context';
import {
  MAX_STAGE_LENGTH,
  branchDeployment,
  ciPlan,
  isValidStageName,
  stackNameFor,
  stageNameForBranch,
} from '../lib/stage-name';

const HASHED = (head: string) => new RegExp(`^${head}-[0-9a-f]{6}$`);

describe('stageNameForBranch', () => {
  it('maps the repository\'s default branch to the production stage, and nothing else', () => {
    assert.equal(stageNameForBranch('main', 'main'), 'prod');
    assert.equal(stageNameForBranch('refs/heads/main', 'main'), 'prod');
    assert.equal(stageNameForBranch('trunk', 'trunk'), 'prod');
    // A master next to a default main is a preview branch (it does not share ApiAuthz-prod).
    assert.equal(stageNameForBranch('master', 'main'), 'master');
    assert.equal(stageNameForBranch('main', 'trunk'), 'main');
    // Without the default branch no branch is production.
    assert.equal(stageNameForBranch('main'), 'main');
    assert.equal(stageNameForBranch('master'), 'master');
  });

  it('keeps a branch that is already a stage name as it is', () => {
    assert.equal(stageNameForBranch('feature-x'), 'feature-x');
    assert.equal(stageNameForBranch('refs/heads/fix-1'), 'fix-1');
  });

  it('sanitizes every other branch and adds a hash of the original name', () => {
    assert.match(stageNameForBranch('Feature-X'), HASHED('feature-x'));
    assert.match(stageNameForBranch('feature/login_page'), HASHED('feature-login'));
    assert.match(stageNameForBranch('fix//double..dots'), HASHED('fix-double-do'));
    assert.match(stageNameForBranch('-/wip/-'), HASHED('wip'));
    assert.match(stageNameForBranch('refs/heads/feat/a'), HASHED('feat-a'));
    assert.match(stageNameForBranch('émoji-🚀-ok'), HASHED('moji-ok'));
  });

  it('gives feature/foo, feature-foo and Feature/Foo three stages', () => {
    const stages = ['feature/foo', 'feature-foo', 'Feature/Foo'].map((b) => stageNameForBranch(b));
    assert.equal(new Set(stages).size, 3, stages.join(' '));
    assert.equal(stages[1], 'feature-foo');
  });

  it('keeps branch dev off the manual default stage', () => {
    assert.equal(DEFAULT_STAGE, 'dev');
    assert.match(stageNameForBranch('dev'), HASHED('dev'));
  });

  it('hashes a branch that already ends like a hash, so it cannot meet a hashed name', () => {
    const hashed = stageNameForBranch('feature/foo');
    assert.notEqual(stageNameForBranch(hashed), hashed);
    assert.match(stageNameForBranch(hashed), HASHED(hashed.slice(0, 13).replace(/-+$/, '')));
  });

  it('maps a generated set of branch names to distinct valid stages', () => {
    // Every combination of prefix, separator, case and body: the confusable names of real repos.
    const prefixes = ['', 'feature', 'Feature', 'FEATURE', 'fix', 'feat', 'release', 'user/alice', 'dependabot/npm_and_yarn'];
    const separators = ['/', '-', '_', '.', '//', '--', ' '];
    const bodies = ['foo', 'Foo', 'foo-bar', 'foo_bar', 'foo.bar', 'v1.2.3', '123', 'a-very-long-branch-name-for-a-page', 'dev', 'prod', 'main'];
    const branches = new Set<string>(['main', 'master', 'dev', 'prod', 'Main', 'DEV', 'ci']);
    for (const p of prefixes) for (const sep of separators) for (const b of bodies) branches.add(p === '' ? b : `${p}${sep}${b}`);
    for (const b of [...branches]) branches.add(stageNameForBranch(b, 'main')); // a branch named like another's stage
    const byStage = new Map<string, string>();
    for (const branch of branches) {
      const stage = stageNameForBranch(branch, 'main');
      assert.ok(isValidStageName(stage), `${JSON.stringify(branch)} -> ${stage}`);
      if (stage === 'prod') {
        assert.equal(branch, 'main', `${branch} -> prod`);
        continue;
      }
      assert.notEqual(stage, DEFAULT_STAGE, `${branch} took the manual default stage`);
      const other = byStage.get(stage);
      assert.equal(other, undefined, `${JSON.stringify(branch)} and ${JSON.stringify(other)} share stage ${stage}`);
      byStage.set(stage, branch);
    }
    assert.ok(byStage.size > 600, `${byStage.size} branches`);
  });

  it('never lets another branch claim the production stage', () => {
    const s = stageNameForBranch('prod');
    assert.notEqual(s, 'prod');
    assert.match(s, /^prod-[0-9a-f]{6}$/);
    assert.notEqual(stageNameForBranch('PROD'), 'prod');
    assert.notEqual(stageNameForBranch('Main', 'main'), 'prod', 'git branch names are case-sensitive: only main is production');
    assert.notEqual(stageNameForBranch('prod', 'main'), 'prod');
  });

  it('starts with a letter', () => {
    assert.match(stageNameForBranch('123-fix'), HASHED('b-123-fix'));
    assert.match(stageNameForBranch('_x'), HASHED('x'));
  });

  it('gives a name to branches with nothing usable', () => {
    const s = stageNameForBranch('///');
    assert.match(s, /^b-[0-9a-f]{6}$/);
    assert.ok(isValidStageName(s));
    assert.notEqual(stageNameForBranch('日本'), stageNameForBranch('中文'));
  });

  it('shortens long names with a hash that keeps them distinct', () => {
    const a = stageNameForBranch('feature/a-very-long-branch-name-for-the-login-page');
    const b = stageNameForBranch('feature/a-very-long-branch-name-for-the-logout-page');
    assert.ok(a.length <= MAX_STAGE_LENGTH, a);
    assert.match(a, HASHED('feature-a-ver'));
    assert.notEqual(a, b);
    assert.equal(stageNameForBranch('feature/a-very-long-branch-name-for-the-login-page'), a, 'deterministic');
  });

  it('always yields a valid stage, stack and API Gateway stage name', () => {
    const branches = [
      'main', 'a', 'A', '1', '-', '.', 'release/v1.2.3', 'dependabot/npm_and_yarn/infra/aws-cdk-lib-2.276.0',
      'x'.repeat(300), 'a-'.repeat(40), 'UPPER_case/Mixed', 'with space', 'tab\tname', 'prod', 'b-', '--a--',
    ];
    for (const b of branches) {
      const s = stageNameForBranch(b);
      assert.ok(isValidStageName(s), `${JSON.stringify(b)} -> ${s}`);
      const stack = stackNameFor('ApiAuthz', s);
      assert.match(stack, /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'CloudFormation stack name');
      assert.match(s, /^[A-Za-z0-9_-]{1,128}$/, 'API Gateway stage name');
      assert.ok(`ApiAuthz-${s}-solar-system-request`.length <= 64, 'Lambda function name');
    }
  });

  it('validates stage names', () => {
    assert.ok(isValidStageName('prod'));
    assert.ok(isValidStageName('feature-x1'));
    for (const bad of ['', 'Prod', '1abc', 'a--b', 'a-', '-a', 'a_b', 'x'.repeat(MAX_STAGE_LENGTH + 1)]) {
      assert.equal(isValidStageName(bad), false, bad);
    }
  });

  it('is exported as a CLI for the workflows', () => {
    const cli = path.join(__dirname, '..', 'bin', 'stage-name.ts');
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', cli, ...args], {
        encoding: 'utf8',
        env: { ...process.env, GITHUB_HEAD_REF: '', GITHUB_REF_NAME: '' },
      }).trim();
    assert.match(run('feature/Login'), HASHED('feature-login'));
    assert.equal(run('feature-login'), 'feature-login');
    assert.equal(run('--stack', '--app', 'Demo', '--default-branch', 'main', 'main'), 'Demo-prod');
    assert.equal(run('--stack', 'main'), 'ApiAuthz-main');
    const gh = (branch: string, ...more: string[]) => run('--github-output', '--default-branch', 'trunk', '--remote-head', 'abc', ...more, branch);
    assert.equal(gh('trunk'), 'deploy=true\nstage=prod\nenvironment=production\nsource-branch=');
    assert.equal(gh('master'), 'deploy=true\nstage=master\nenvironment=preview\nsource-branch=master');
    assert.equal(gh('feature-x'), 'deploy=true\nstage=feature-x\nenvironment=preview\nsource-branch=feature-x');
    assert.match(gh('dependabot/cargo/serde-1.0.300'), /^deploy=false\nreason=/);
    assert.match(gh('feature-x', '--ref', 'def'), /^deploy=false\nreason=branch feature-x is at abc now, not def/);
    assert.match(run('--github-output', '--default-branch', 'trunk', '--remote-head', '', '--action', 'destroy', 'feature-x'), /^deploy=true\nstage=feature-x\n/);
    // The production decision needs the default branch; the freshness check needs the remote head.
    assert.throws(() => run('--github-output', '--remote-head', 'abc', 'trunk'), /needs --default-branch/);
    assert.throws(() => run('--github-output', '--default-branch', 'trunk', 'trunk'), /needs --remote-head/);
  });
});

describe('branchDeployment', () => {
  it('sends the default branch to the production environment, every other branch to preview', () => {
    assert.deepEqual(branchDeployment('main', 'main'), { deploy: true, stage: 'prod', environment: 'production' });
    assert.deepEqual(branchDeployment('refs/heads/master', 'master'), { deploy: true, stage: 'prod', environment: 'production' });
    assert.deepEqual(branchDeployment('master', 'main'), { deploy: true, stage: 'master', environment: 'preview' });
    assert.deepEqual(branchDeployment('main', 'master'), { deploy: true, stage: 'main', environment: 'preview' });
    assert.deepEqual(branchDeployment('feature-x', 'main'), { deploy: true, stage: 'feature-x', environment: 'preview' });
    const prodLike = branchDeployment('prod', 'main');
    assert.ok(prodLike.deploy && prodLike.environment === 'preview' && prodLike.stage !== 'prod');
  });

  it('gives dependabot branches no stage', () => {
    for (const b of ['dependabot/npm_and_yarn/infra/aws-cdk-lib-2.276.0', 'refs/heads/dependabot/cargo/serde-1.0.300']) {
      const d = branchDeployment(b, 'main');
      assert.equal(d.deploy, false, b);
    }
  });
});

describe('ciPlan: deploy and destroy of one branch, the later event wins', () => {
  const base = { branch: 'feature-x', defaultBranch: 'main' } as const;
  it('deploys the commit the branch still points at', () => {
    assert.deepEqual(ciPlan({ ...base, action: 'deploy', ref: 'a1', remoteHead: 'a1' }), { deploy: true, stage: 'feature-x', environment: 'preview' });
    assert.deepEqual(ciPlan({ ...base, action: 'deploy', remoteHead: 'a1' }), { deploy: true, stage: 'feature-x', environment: 'preview' });
  });
  it('does not deploy a deleted branch (its destroy already ran or is queued) or an overtaken commit', () => {
    const gone = ciPlan({ ...base, action: 'deploy', ref: 'a1', remoteHead: '' });
    assert.equal(gone.deploy, false);
    assert.match(!gone.deploy ? gone.reason : '', /no longer exists/);
    const moved = ciPlan({ ...base, action: 'deploy', ref: 'a1', remoteHead: 'b2' });
    assert.equal(moved.deploy, false);
  });
  it('destroys only a branch that is still gone, never production', () => {
    assert.deepEqual(ciPlan({ ...base, action: 'destroy', remoteHead: '' }), { deploy: true, stage: 'feature-x', environment: 'preview' });
    assert.equal(ciPlan({ ...base, action: 'destroy', remoteHead: 'c3' }).deploy, false);
    assert.equal(ciPlan({ ...base, branch: 'main', action: 'destroy', remoteHead: '' }).deploy, false);
  });
});

describe('infra/README.md stage-name examples, run through the CLI as documented', () => {
  it('every `branch` → `stage` pair of the stage-name paragraph is what bin/stage-name.ts prints', () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const start = readme.indexOf('For a git branch, `npx tsx bin/stage-name.ts --default-branch main <branch>` prints its stage:');
    assert.ok(start >= 0, 'the documented command is in infra/README.md');
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const pairs = [...paragraph.matchAll(/`([^`\s]+)` → `([^`\s]+)`/g)].map((m) => [m[1], m[2]] as const);
    // `main` → `prod`, `master` → `master`, `feature-login` → …, `feature/Login` → …, branch `dev` → `dev-…`.
    assert.ok(pairs.length >= 5, JSON.stringify(pairs));
    for (const [branch, stage] of pairs) {
      const printed = execFileSync(process.execPath, ['--import', 'tsx', 'bin/stage-name.ts', '--default-branch', 'main', branch], {
        cwd: path.join(__dirname, '..'),
        encoding: 'utf8',
      }).trim();
      if (stage.endsWith('…')) assert.ok(printed.startsWith(stage.slice(0, -1)) && printed !== stage.slice(0, -2), `${branch}: ${printed}`);
      else assert.equal(printed, stage, branch);
    }
    assert.ok(paragraph.includes('`main` → `prod`'));
    assert.ok(paragraph.includes('`master` → `master`'));
  });
});
