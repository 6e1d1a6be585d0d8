/**
 * What `cdk synth|diff|deploy` needs before cargo-lambda-cdk bundles the Rust authorizers, checked
 * up front so that a plain `npx cdk …` in infra/ works as the scripts do, or stops with one line
 * saying what to run (instead of cargo-lambda-cdk's silent fallback to Docker, or cargo-lambda
 * installing a rustup target on its own):
 *
 * - cargo-lambda and zig: taken from `<repo>/.venv/bin` (where scripts/test-tools.sh,
 *   scripts/deploy.sh and scripts/test-infra.sh install them) when it exists, else from PATH;
 * - for arm64 functions, the `aarch64-unknown-linux-gnu` Rust target.
 *
 * Called from bin/app.ts only (the one place that reads the environment with bin/context.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The command that installs cargo-lambda and zig into `.venv`. */
export const INSTALL_HINT = 'scripts/test-tools.sh cargo-lambda';
/** The template-only synth, which needs neither. */
export const TEMPLATE_ONLY_HINT = '-c bundling=false (template only, nothing built)';
/** The Rust target arm64 functions are built for. */
export const ARM64_TARGET = 'aarch64-unknown-linux-gnu';

export class ToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainError';
  }
}

/** Runs a program; `undefined` when it cannot start or exits non-zero, else its stdout. */
export type Runner = (cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) => string | undefined;

export const run: Runner = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? r.stdout : undefined;
};

/**
 * The PATH bundling runs with (`.venv/bin` first when it holds cargo-lambda), after checking
 * cargo-lambda, zig and, for arm64, the Rust target. Throws a ToolchainError (one line) otherwise.
 */
export function bundlingPath(opts: {
  readonly workspaceRoot: string;
  readonly pathEnv: string | undefined;
  readonly architecture: 'arm64' | 'x86_64';
  readonly run?: Runner;
}): string {
  const exec = opts.run ?? run;
  const venvBin = path.join(opts.workspaceRoot, '.venv', 'bin');
  const pathEnv = fs.existsSync(path.join(venvBin, 'cargo-lambda'))
    ? [venvBin, opts.pathEnv].filter(Boolean).join(path.delimiter)
    : (opts.pathEnv ?? '');
  const env = { ...process.env, PATH: pathEnv };
  if (exec('cargo', ['lambda', '--version'], env) === undefined) {
    throw new ToolchainError(
      `cargo-lambda not found (neither in ${venvBin} nor on PATH): run ${INSTALL_HINT}, or synth with ${TEMPLATE_ONLY_HINT}`,
    );
  }
  // cargo-lambda links with zig: a `zig` on PATH, or Python's ziglang package.
  if (exec('zig', ['version'], env) === undefined && exec('python3', ['-c', 'import ziglang'], env) === undefined) {
    throw new ToolchainError(
      `zig not found (cargo-lambda links with it; neither a zig on PATH nor Python's ziglang): run ${INSTALL_HINT}, or synth with ${TEMPLATE_ONLY_HINT}`,
    );
  }
  if (opts.architecture === 'arm64') {
    const installed = exec('rustup', ['target', 'list', '--installed'], env) ?? '';
    if (!installed.split(/\s+/).includes(ARM64_TARGET)) {
      throw new ToolchainError(
        `architecture arm64 needs the Rust target ${ARM64_TARGET}, which is not installed: run rustup target add ${ARM64_TARGET}, or pass -c architecture=x86_64`,
      );
    }
  }
  return pathEnv;
}

/** Whether the CLI asked for bundling: `aws:cdk:bundling-stacks` unset (the app run directly) or non-empty. */
export function cliBundles(bundlingStacks: unknown): boolean {
  return !Array.isArray(bundlingStacks) || bundlingStacks.length > 0;
}

/** `-c bundling=false`: the template only. Anything but true/false is refused. */
export function bundlingOff(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === true || value === 'true') return false;
  if (value === false || value === 'false') return true;
  throw new ToolchainError(`context bundling "${String(value)}": true or false`);
}
