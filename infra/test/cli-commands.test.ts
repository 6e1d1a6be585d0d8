/**
 * The CDK CLI commands infra/README.md documents, run for real through `npx cdk` in infra/:
 * the template-only synth (no cargo-lambda on PATH, no authorizer built; cargo builds the small
 * `authz-config` reader every synth runs) and `cdk bootstrap`, which
 * must get past the app with no context at all (it then fails on the AWS call: no credentials,
 * no network here).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { PLACEHOLDER_STACK } from '../bin/app';
import { cliEnvironment } from './helpers';

const INFRA = path.resolve(__dirname, '..');

/**
 * `npx cdk ARGS` in infra/ with a PATH holding node, cargo and the system, not .venv or
 * cargo-lambda; the `authz-config` that scripts/test-infra.sh built, when it did (AUTHZ_CONFIG_BIN).
 */
function cdk(args: string[], extraEnv: Record<string, string> = {}) {
  const env = cliEnvironment(extraEnv);
  const r = spawnSync('npx', ['--no-install', 'cdk', ...args], { cwd: INFRA, env, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('documented cdk commands', () => {
  it('npx cdk synth -c issuer=… -c bundling=false writes the template and builds nothing', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'template-only-'));
    const r = cdk(['synth', '-c', 'issuer=https://idp.example.com', '-c', 'bundling=false', '--quiet', '--output', out]);
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /cargo-lambda|Docker|Compiling/);
    const template = JSON.parse(fs.readFileSync(path.join(out, 'ApiAuthz-dev.template.json'), 'utf8'));
    const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    assert.ok(functions.length >= 3, `${functions.length} functions`);
    fs.rmSync(out, { recursive: true });
  });

  it('npx cdk bootstrap aws://ACCOUNT/REGION gets past the app with no context', () => {
    const r = cdk(['bootstrap', 'aws://123456789012/us-east-1'], {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    assert.match(r.out, /Bootstrapping environment aws:\/\/123456789012\/us-east-1/, r.out);
    assert.doesNotMatch(r.out, /^error:/m);
    assert.ok(r.out.includes(PLACEHOLDER_STACK) || !r.out.includes('note:'), r.out);
  });
});
