/** The nightly sweep: which stages lost their branch; and the tag that marks CI's stages. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { orphanStages, stageNameForBranch } from '../lib/stage-name';
import { synth } from './helpers';

const tagged = (stage: string, extra: Record<string, string> = { source: 'branch' }, app = 'ApiAuthz') => ({
  StackName: `${app}-${stage}`,
  Tags: Object.entries({ app, stage, ...extra }).map(([Key, Value]) => ({ Key, Value })),
});

describe('orphanStages', () => {
  const featureFoo = stageNameForBranch('feature/foo');
  const stacks = [
    tagged(featureFoo),
    tagged('feature-bar'),
    tagged('prod'),
    tagged('dev', {}), // deployed by hand: no source tag
    tagged('demo', {}),
    tagged('other-app', { source: 'branch' }, 'Other'),
    { StackName: 'CDKToolkit' },
  ];

  it('names the CI stages whose branch is gone, and only those', () => {
    assert.deepEqual(orphanStages('ApiAuthz', stacks, ['main', 'feature/foo']), ['feature-bar']);
    assert.deepEqual(orphanStages('ApiAuthz', stacks, ['main']), ['feature-bar', featureFoo].sort());
    assert.deepEqual(orphanStages('ApiAuthz', stacks, ['main', 'feature/foo', 'feature-bar']), []);
  });

  it('maps branches with the repository\'s default branch: a master beside main is a preview stage', () => {
    const withMaster = [...stacks, tagged('master')];
    assert.deepEqual(orphanStages('ApiAuthz', withMaster, ['main', 'master', 'feature/foo', 'feature-bar'], 'main'), []);
    assert.deepEqual(orphanStages('ApiAuthz', withMaster, ['main', 'feature/foo', 'feature-bar'], 'main'), ['master']);
  });

  it('never names prod or a stage deployed by hand, even with no branch left', () => {
    const out = orphanStages('ApiAuthz', stacks, ['unrelated']);
    for (const s of ['prod', 'dev', 'demo', 'other-app']) assert.ok(!out.includes(s), s);
  });

  it('the CLI refuses an empty branch list (it would sweep everything)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-sweep-'));
    try {
      fs.writeFileSync(path.join(dir, 'stacks.json'), JSON.stringify({ Stacks: stacks }));
      fs.writeFileSync(path.join(dir, 'branches.txt'), 'main\nfeature/foo\n');
      fs.writeFileSync(path.join(dir, 'none.txt'), '\n');
      const cli = path.join(__dirname, '..', 'bin', 'sweep.ts');
      const out = execFileSync(process.execPath, ['--import', 'tsx', cli, '--stacks', path.join(dir, 'stacks.json'), '--branches', path.join(dir, 'branches.txt')], { encoding: 'utf8' });
      assert.equal(out, 'feature-bar\n');
      const r = spawnSync(process.execPath, ['--import', 'tsx', cli, '--stacks', path.join(dir, 'stacks.json'), '--branches', path.join(dir, 'none.txt')], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /refusing/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sourceBranch', () => {
  it('tags the stack for the sweep when the stage is that branch stage', () => {
    const stage = stageNameForBranch('feature/foo');
    // Stack tags as `cdk deploy` applies them (the cloud assembly's stack manifest).
    const stackTags = (s: ReturnType<typeof synth>) => s.app.synth().getStackByName(s.stack.stackName).tags;
    const tags = stackTags(synth({ stage, sourceBranch: 'feature/foo' }));
    assert.equal(tags.source, 'branch');
    assert.equal(tags.stage, stage);
    assert.equal(tags.app, 'ApiAuthz');
    assert.equal(stackTags(synth({ stage: 'feature-x' })).source, undefined, 'a manual stage is never swept');
  });

  it('refuses a stage that is not the branch stage', () => {
    assert.throws(() => synth({ stage: 'feature-foo', sourceBranch: 'feature/foo' }), /sourceBranch "feature\/foo": its stage is feature-foo-[0-9a-f]{6}/);
  });

  it('prod is no branch stage: CI deploys it without sourceBranch (never tagged for the sweep)', () => {
    assert.throws(() => synth({ stage: 'prod', sourceBranch: 'main' }), /sourceBranch "main": its stage is main, not prod/);
  });
});
