import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MAX_STAGE_LENGTH, isValidStageName, stackNameFor, stageNameForBranch } from '../lib/stage-name';

describe('stageNameForBranch', () => {
  it('maps the default branch to the production stage', () => {
    assert.equal(stageNameForBranch('main'), 'prod');
    assert.equal(stageNameForBranch('master'), 'prod');
    assert.equal(stageNameForBranch('refs/heads/main'), 'prod');
  });

  it('keeps simple names and lower-cases', () => {
    assert.equal(stageNameForBranch('dev'), 'dev');
    assert.equal(stageNameForBranch('Feature-X'), 'feature-x');
  });

  it('turns every run of other characters into one hyphen, trimmed', () => {
    assert.equal(stageNameForBranch('feature/login_page'), 'feature-login-page');
    assert.equal(stageNameForBranch('fix//double..dots'), 'fix-double-dots');
    assert.equal(stageNameForBranch('-/wip/-'), 'wip');
    assert.equal(stageNameForBranch('refs/heads/feat/a'), 'feat-a');
    assert.equal(stageNameForBranch('émoji-🚀-ok'), 'moji-ok');
  });

  it('never lets another branch claim the production stage', () => {
    const s = stageNameForBranch('prod');
    assert.notEqual(s, 'prod');
    assert.match(s, /^prod-[0-9a-f]{6}$/);
    assert.notEqual(stageNameForBranch('PROD'), 'prod');
    assert.notEqual(stageNameForBranch('Main'), 'prod', 'git branch names are case-sensitive: only main is production');
  });

  it('starts with a letter', () => {
    assert.equal(stageNameForBranch('123-fix'), 'b-123-fix');
    assert.equal(stageNameForBranch('_x'), 'x');
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
    assert.match(a, /^feature-a-ver-[0-9a-f]{6}$/);
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
    assert.equal(run('feature/Login'), 'feature-login');
    assert.equal(run('--stack', '--app', 'Demo', 'main'), 'Demo-prod');
  });
});
