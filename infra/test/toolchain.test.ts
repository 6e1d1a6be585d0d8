/**
 * bin/toolchain.ts: what a plain `npx cdk synth|diff|deploy` needs before bundling, found where the
 * scripts install it or refused with one line naming the command to run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ARM64_TARGET, INSTALL_HINT, type Runner, ToolchainError, bundlingOff, bundlingPath, cliBundles } from '../bin/toolchain';

/** A fake workspace, with or without `.venv/bin/cargo-lambda`. */
function workspace(withVenv: boolean): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'toolchain-'));
  if (withVenv) {
    fs.mkdirSync(path.join(root, '.venv', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(root, '.venv', 'bin', 'cargo-lambda'), '');
  }
  return root;
}

/** Programs that answer, by name; each call is recorded with the PATH it saw. */
function runner(available: Record<string, string>, calls: string[][] = []): Runner {
  return (cmd, args, env) => {
    calls.push([cmd, ...args, `PATH=${env.PATH}`]);
    return available[cmd];
  };
}

describe('bundlingPath', () => {
  it('puts .venv/bin first when it holds cargo-lambda, and checks with that PATH', () => {
    const root = workspace(true);
    const calls: string[][] = [];
    const got = bundlingPath({
      workspaceRoot: root,
      pathEnv: '/usr/bin',
      architecture: 'x86_64',
      run: runner({ cargo: 'cargo-lambda 1.9.2', python3: '' }, calls),
    });
    assert.equal(got, `${path.join(root, '.venv', 'bin')}:/usr/bin`);
    assert.deepEqual(calls[0], ['cargo', 'lambda', '--version', `PATH=${got}`]);
    fs.rmSync(root, { recursive: true });
  });

  it('without cargo-lambda: one line naming the install command and the template-only synth', () => {
    const root = workspace(false);
    assert.throws(
      () => bundlingPath({ workspaceRoot: root, pathEnv: '/usr/bin', architecture: 'x86_64', run: runner({}) }),
      (e: Error) =>
        e instanceof ToolchainError &&
        !e.message.includes('\n') &&
        e.message.includes(INSTALL_HINT) &&
        e.message.includes('-c bundling=false'),
    );
    fs.rmSync(root, { recursive: true });
  });

  it('without zig (no zig, no ziglang): refused', () => {
    const root = workspace(false);
    assert.throws(
      () => bundlingPath({ workspaceRoot: root, pathEnv: '/usr/bin', architecture: 'x86_64', run: runner({ cargo: 'x' }) }),
      /^ToolchainError: zig not found/,
    );
    fs.rmSync(root, { recursive: true });
  });

  it('arm64 without the aarch64 Rust target is refused (cargo-lambda would install it silently)', () => {
    const root = workspace(false);
    const tools = { cargo: 'x', zig: '0.13', rustup: 'x86_64-unknown-linux-gnu\n' };
    assert.throws(
      () => bundlingPath({ workspaceRoot: root, pathEnv: '/usr/bin', architecture: 'arm64', run: runner(tools) }),
      (e: Error) => e.message.includes(`rustup target add ${ARM64_TARGET}`) && e.message.includes('-c architecture=x86_64'),
    );
    const withTarget = { ...tools, rustup: `x86_64-unknown-linux-gnu\n${ARM64_TARGET}\n` };
    assert.equal(
      bundlingPath({ workspaceRoot: root, pathEnv: '/usr/bin', architecture: 'arm64', run: runner(withTarget) }),
      '/usr/bin',
    );
    fs.rmSync(root, { recursive: true });
  });
});

describe('bundling switches', () => {
  it('the CLI bundles unless it sets bundling-stacks to []', () => {
    assert.equal(cliBundles(undefined), true);
    assert.equal(cliBundles(['**']), true);
    assert.equal(cliBundles([]), false);
  });

  it('-c bundling=false is the template-only synth; other values are refused', () => {
    assert.equal(bundlingOff(undefined), false);
    assert.equal(bundlingOff('true'), false);
    assert.equal(bundlingOff('false'), true);
    assert.equal(bundlingOff(false), true);
    assert.throws(() => bundlingOff('no'), /context bundling "no": true or false/);
  });
});
