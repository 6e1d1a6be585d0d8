/**
 * The authorizers' configuration as the authorizers read it: the Rust `authz-config` binary
 * (crates/authz-config), run at synth time with one authorizer's environment, parses it with the
 * cold start's own code (`Config::from_env`: every `AUTHZ_*` name checked against the settings
 * table, flat variables and `AUTHZ_CONFIG` document keys alike) and answers the authorizer's cache
 * key (`Config::cache_key`): the identity sources, the headers and stage variables they cover, the
 * route sets. A configuration the cold start would refuse fails `cdk synth` with the cold start's
 * message. There is no second reader of the configuration here (issue 22).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LambdaAuthorizerType } from './route-table';

/** What `authz-config cache-key` prints (`authz_core::CacheKey`). */
export interface CacheKey {
  readonly kind: LambdaAuthorizerType;
  /** As API Gateway spells them; empty only for an uncached authorizer also reading a query parameter. */
  readonly identitySources: readonly string[];
  /** Lower-case. */
  readonly tokenHeader: string;
  readonly bindHeader: string | null;
  /** The `authz*` stage variables of the stage, each an identity source. */
  readonly stageVariables: readonly string[];
  /** `AUTHZ_ROUTE_SETS` / `route_sets`: name → routes. */
  readonly routeSets: Readonly<Record<string, readonly string[]>>;
  /** The optional cargo features the configuration needs (`introspection`, `replay-store`, `cedar`). */
  readonly features: readonly string[];
}

/** A configuration the authorizer would refuse at cold start: its message, naming the setting. */
export class AuthzConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthzConfigError';
  }
}

/** What one stage gives the authorizer besides its environment. */
export interface StageInput {
  /** Every stage variable of the stage (name → value). */
  readonly stageVariables?: Readonly<Record<string, string>>;
  /** Results cached (TTL above 0). */
  readonly cached: boolean;
}

/** Reads an authorizer's cache key from its environment. */
export type CacheKeyReader = (kind: LambdaAuthorizerType, environment: Readonly<Record<string, string>>, stage: StageInput) => CacheKey;

const built = new Map<string, string>();

/**
 * The `authz-config` program: `program` when given (scripts/test-infra.sh and CI pass the one
 * they built as AUTHZ_CONFIG_BIN, read by bin/app.ts), else built once per process with
 * `cargo build --locked -p authz-config` in `workspaceRoot` and found in the target directory
 * cargo itself reports (`cargo metadata`).
 */
export function authzConfigProgram(workspaceRoot: string, program?: string): string {
  if (program !== undefined) {
    if (!fs.existsSync(program)) throw new Error(`AUTHZ_CONFIG_BIN: ${program} does not exist (cargo build -p authz-config builds it)`);
    return program;
  }
  const cached = built.get(workspaceRoot);
  if (cached) return cached;
  execFileSync('cargo', ['build', '--quiet', '--locked', '-p', 'authz-config'], { cwd: workspaceRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const metadata = execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: workspaceRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const found = path.join(JSON.parse(metadata).target_directory, 'debug', 'authz-config');
  built.set(workspaceRoot, found);
  return found;
}

/**
 * A {@link CacheKeyReader} running `program` with exactly the authorizer's environment (nothing
 * inherited: an `AUTHZ_*` variable of the shell must not change the answer).
 */
export function cacheKeyReader(program: string): CacheKeyReader {
  return (kind, environment, stage) => {
    const args = ['cache-key', kind, ...(stage.cached ? [] : ['--uncached'])];
    for (const [name, value] of Object.entries(stage.stageVariables ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      args.push('--stage-variable', `${name}=${value}`);
    }
    const run = spawnSync(program, args, { env: { ...environment }, encoding: 'utf8' });
    if (run.error) throw new Error(`${program}: ${run.error.message}`);
    if (run.status === 1) throw new AuthzConfigError(run.stderr.trim().replace(/^configuration error: /, ''));
    if (run.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${run.status ?? run.signal}): ${run.stderr.trim()}`);
    return JSON.parse(run.stdout) as CacheKey;
  };
}
