/**
 * scripts/deploy.sh and scripts/destroy.sh as CI runs them: a non-interactive shell (stdin not a
 * terminal), with a stand-in `cdk` on PATH (AUTHZ_CDK=cdk) that records its arguments and working
 * directory, and a stand-in `aws` answering `sts get-caller-identity` (with an account when
 * STANDIN_AWS_ACCOUNT is set, else AWS CLI's "Unable to locate credentials"); the real CLIs cannot
 * reach AWS here. One stand-in runs the real CDK CLI instead: `cdk deploy` becomes a
 * template-only `cdk synth` with the same `-c` options, so the real app judges them. One case runs under a pseudo-terminal (`script`)
 * to show that an interactive run still asks. Run by scripts/test-infra.sh after it installed
 * cargo-lambda (deploy.sh checks for it), not by `npm test`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { stageNameForBranch } from '../../lib/stage-name';
import { writeStandInAws } from './stand-ins';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'authz-deploy-sh-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const stubDir = path.join(scratch, 'bin');
fs.mkdirSync(stubDir);
fs.writeFileSync(
  path.join(stubDir, 'cdk'),
  '#!/usr/bin/env bash\nset -euo pipefail\n{ echo "cwd=$PWD"; for a in "$@"; do echo "arg=$a"; done; } > "$CDK_RECORD"\n',
  { mode: 0o755 },
);

// `aws sts get-caller-identity --query Account --output text` as the AWS CLI answers it.
writeStandInAws(stubDir);

// `cdk deploy ARGS` → the real CLI's template-only `cdk synth` with ARGS' context options.
const synthDir = path.join(scratch, 'synth-bin');
fs.mkdirSync(synthDir);
fs.writeFileSync(
  path.join(synthDir, 'cdk'),
  [
    '#!/usr/bin/env bash',
    'set -euo pipefail',
    'ctx=()',
    'while [ $# -gt 0 ]; do case "$1" in -c | --context) ctx+=(-c "$2"); shift 2 ;; *) shift ;; esac; done',
    `exec ${JSON.stringify(path.join(ROOT, 'infra', 'node_modules', '.bin', 'cdk'))} synth "\${ctx[@]}" -c bundling=false --quiet --output "$CDK_SYNTH_OUT"`,
    '',
  ].join('\n'),
  { mode: 0o755 },
);

// A `cargo` that records being called: put first on PATH, it shows whether the build began.
const cargoDir = path.join(scratch, 'cargo-bin');
fs.mkdirSync(cargoDir);
fs.writeFileSync(path.join(cargoDir, 'cargo'), '#!/usr/bin/env bash\ntouch "$CARGO_RECORD"\nexit 1\n', { mode: 0o755 });

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  /** The stand-in's arguments, or undefined when it was not called. */
  readonly args?: string[];
  readonly cwd?: string;
}

function run(
  script: string,
  args: string[],
  opts: { tty?: boolean; env?: Record<string, string | undefined>; pathFirst?: string } = {},
): Run {
  const record = path.join(scratch, `record-${Math.random().toString(36).slice(2)}`);
  const env = {
    ...process.env,
    PATH: [opts.pathFirst, stubDir, process.env.PATH].filter(Boolean).join(':'),
    AUTHZ_CDK: 'cdk',
    AUTHZ_INFRA_ARCH: 'x86_64',
    CDK_RECORD: record,
    STANDIN_AWS_ACCOUNT: '123456789012',
    CDK_DISABLE_VERSION_CHECK: '1',
    ...opts.env,
  };
  const command = [path.join(ROOT, 'scripts', script), ...args];
  const r = opts.tty
    ? // `script` gives the command a pseudo-terminal as stdin/stdout.
      spawnSync('script', ['-qec', command.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null'], {
        env,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawnSync('bash', command, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!fs.existsSync(record)) return { status: r.status, stderr: `${r.stderr}${r.stdout}` };
  const lines = fs.readFileSync(record, 'utf8').trimEnd().split('\n');
  return {
    status: r.status,
    stderr: `${r.stderr}${r.stdout}`,
    cwd: lines[0].replace(/^cwd=/, ''),
    args: lines.slice(1).map((l) => l.replace(/^arg=/, '')),
  };
}

/** The value after `flag` each time it occurs. */
function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

describe('scripts/deploy.sh (stand-in cdk)', () => {
  it('deploys without a prompt when there is no terminal (CI)', () => {
    const r = run('deploy.sh', ['feature-x', '-c', 'issuer=https://idp.example.com']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.cwd, path.join(ROOT, 'infra'));
    const args = r.args!;
    assert.deepEqual(args.slice(0, 2), ['deploy', '--all']);
    assert.deepEqual(values(args, '--require-approval'), ['never']);
    assert.deepEqual(values(args, '-c'), ['stage=feature-x', 'architecture=x86_64', 'issuer=https://idp.example.com']);
    assert.deepEqual(values(args, '--outputs-file'), ['cdk.out/outputs-feature-x.json']);
    assert.match(r.stderr, /no terminal/);
  });

  it('asks before broadening changes when run from a terminal', () => {
    const r = run('deploy.sh', ['feature-x', '-c', 'issuer=https://idp.example.com'], { tty: true });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(values(r.args!, '--require-approval'), ['broadening']);
  });

  it('passes an explicit --require-approval through instead of its own', () => {
    const r = run('deploy.sh', ['feature-x', '--require-approval', 'any-change', '-c', 'issuer=https://idp.example.com']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(values(r.args!, '--require-approval'), ['any-change']);
  });

  it('--branch deploys the branch stage (hashed when the name had to change)', () => {
    const r = run('deploy.sh', ['--branch', 'feature/Foo', '-c', 'issuer=https://idp.example.com']);
    assert.equal(r.status, 0, r.stderr);
    const stage = stageNameForBranch('feature/Foo');
    assert.match(stage, /^feature-foo-[0-9a-f]{6}$/);
    assert.deepEqual(values(r.args!, '-c').slice(0, 1), [`stage=${stage}`]);
  });

  it('stops before building anything when there are no AWS credentials', () => {
    const cargoRecord = path.join(scratch, 'cargo-called');
    const r = run('deploy.sh', ['feature-x', '-c', 'issuer=https://idp.example.com'], {
      env: { STANDIN_AWS_ACCOUNT: undefined, CARGO_RECORD: cargoRecord },
      pathFirst: cargoDir,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Unable to locate credentials/);
    assert.match(r.stderr, /no usable AWS credentials .*nothing was built/);
    assert.equal(r.args, undefined, 'cdk was not called');
    assert.equal(fs.existsSync(cargoRecord), false, 'cargo was not called');
    // With credentials the same run gets to cargo (the recording stand-in fails the toolchain step).
    const withCredentials = run('deploy.sh', ['feature-x', '-c', 'issuer=https://idp.example.com'], {
      env: { CARGO_RECORD: cargoRecord },
      pathFirst: cargoDir,
    });
    assert.notEqual(withCredentials.status, 0);
    assert.match(withCredentials.stderr, /AWS account 123456789012/);
    assert.equal(fs.existsSync(cargoRecord), true, 'cargo was called');
  });

  it('a misspelt context key reaches the app, which refuses it (the real CLI, template only)', () => {
    const out = fs.mkdtempSync(path.join(scratch, 'synth-'));
    const cdkOnPath = { pathFirst: synthDir, env: { CDK_SYNTH_OUT: out } };
    const r = run('deploy.sh', ['feature-x', '-c', 'isuer=https://idp.example.com'], cdkOnPath);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown context key isuer \(did you mean issuer\?\)/);
    assert.equal(fs.existsSync(path.join(out, 'ApiAuthz-feature-x.template.json')), false);
    const sized = run('deploy.sh', ['feature-x', '-c', 'issuer=https://idp.example.com', '-c', 'memorySizeMB=256'], cdkOnPath);
    assert.notEqual(sized.status, 0);
    assert.match(sized.stderr, /unknown context key memorySizeMB \(did you mean memorySizeMb\?\)/);
  });

  it('refuses a stage that is not a stage name, before calling cdk', () => {
    const r = run('deploy.sh', ['Feature/Foo']);
    assert.notEqual(r.status, 0);
    assert.equal(r.args, undefined, 'cdk was not called');
    assert.match(r.stderr, /is not a stage name/);
  });
});

describe('scripts/destroy.sh (stand-in cdk)', () => {
  it('destroys a branch stage with --force, without a terminal', () => {
    const r = run('destroy.sh', ['feature-x', '--force']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.args!.slice(0, 2), ['destroy', '--all']);
    assert.ok(values(r.args!, '-c').includes('stage=feature-x'));
    assert.ok(r.args!.includes('--force'));
  });

  it('without a terminal and without --force it stops with a message (nobody could confirm)', () => {
    const r = run('destroy.sh', ['feature-x']);
    assert.notEqual(r.status, 0);
    assert.equal(r.args, undefined);
    assert.match(r.stderr, /pass --force/);
  });

  it('refuses the production stage unless told so explicitly', () => {
    const r = run('destroy.sh', ['prod', '--force']);
    assert.notEqual(r.status, 0);
    assert.equal(r.args, undefined);
    assert.match(r.stderr, /--i-mean-production/);
    const ok = run('destroy.sh', ['prod', '--force', '--i-mean-production']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(!ok.args!.includes('--i-mean-production'), 'the script consumes its own flag');
  });
});
