import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthorizerFeatures, CARGO_LAMBDA_FLAGS, TASK_ROOT, bundleFilesHook, cargoLambdaFlags, featuresOf } from '../lib/authorizer-function';

const NONE: AuthorizerFeatures = { introspection: false, replayStore: false, cedar: false };

describe('cargoLambdaFlags', () => {
  it('keeps the workspace release profile in every build', () => {
    assert.ok(CARGO_LAMBDA_FLAGS.includes('--disable-optimizations'));
    for (const introspection of [true, false]) {
      for (const replayStore of [true, false]) {
        assert.ok(cargoLambdaFlags('request-authorizer', { ...NONE, introspection, replayStore }).includes('--disable-optimizations'));
      }
    }
  });

  it('leaves the AWS SDK out unless the function introspects opaque tokens or records DPoP proofs', () => {
    assert.deepEqual(cargoLambdaFlags('token-authorizer', NONE), [...CARGO_LAMBDA_FLAGS, '--no-default-features']);
    assert.deepEqual(cargoLambdaFlags('token-authorizer', { ...NONE, introspection: true }), [
      ...CARGO_LAMBDA_FLAGS,
      '--no-default-features',
      '--features',
      'token-authorizer/introspection',
    ]);
  });

  it('builds the replay store in exactly when the function has a replay table, and nothing else it does not use', () => {
    assert.deepEqual(cargoLambdaFlags('http-authorizer', { ...NONE, replayStore: true }), [
      ...CARGO_LAMBDA_FLAGS,
      '--no-default-features',
      '--features',
      'http-authorizer/replay-store',
    ]);
    assert.deepEqual(cargoLambdaFlags('request-authorizer', { introspection: true, replayStore: true, cedar: true }).slice(-2), [
      '--features',
      'request-authorizer/introspection,request-authorizer/replay-store,request-authorizer/cedar',
    ]);
  });

  it('features of a function: introspection with its secret, the replay store with its table, Cedar with Cedar files', () => {
    assert.deepEqual(featuresOf({}), NONE);
    assert.deepEqual(featuresOf({ introspectionSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }), {
      ...NONE,
      introspection: true,
    });
    assert.deepEqual(featuresOf({ cedarFiles: [{ local: '/x/p.cedar', inFunction: `${TASK_ROOT}/cedar/policies/p.cedar` }] }), {
      ...NONE,
      cedar: true,
    });
    assert.deepEqual(featuresOf({ cedarFiles: [] }), NONE);
  });
});

describe('bundleFilesHook', () => {
  it('copies each file to its /var/task path inside the asset, making its directory', () => {
    const hook = bundleFilesHook([
      { local: '/repo/ca.pem', inFunction: `${TASK_ROOT}/ca-bundle.pem` },
      { local: "/repo/it's/p.cedar", inFunction: `${TASK_ROOT}/cedar/policies/p.cedar` },
    ]);
    assert.deepEqual(hook.beforeBundling('/in', '/out'), []);
    assert.deepEqual(hook.afterBundling('/in', '/out'), [
      "cp -- '/repo/ca.pem' '/out/ca-bundle.pem'",
      "mkdir -p -- '/out/cedar/policies'",
      "cp -- '/repo/it'\\''s/p.cedar' '/out/cedar/policies/p.cedar'",
    ]);
  });

  it('refuses a path outside the task root', () => {
    assert.throws(() => bundleFilesHook([{ local: '/x', inFunction: '/etc/passwd' }]).afterBundling('/in', '/out'), /not under \/var\/task/);
  });
});
