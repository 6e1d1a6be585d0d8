import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CARGO_LAMBDA_FLAGS, TASK_ROOT, bundleFilesHook, cargoLambdaFlags, featuresOf } from '../lib/authorizer-function';

const ALL_OFF = { introspection: false, replayStore: false, cedar: false } as const;

describe('cargoLambdaFlags', () => {
  it('keeps the workspace release profile in every build', () => {
    assert.ok(CARGO_LAMBDA_FLAGS.includes('--disable-optimizations'));
    for (const introspection of [true, false]) {
      for (const cedar of [true, false]) {
        assert.ok(cargoLambdaFlags({ introspection, replayStore: introspection, cedar }).includes('--disable-optimizations'));
      }
    }
  });

  it('leaves the AWS SDK out unless the function introspects opaque tokens', () => {
    assert.deepEqual(cargoLambdaFlags(ALL_OFF), [...CARGO_LAMBDA_FLAGS, '--no-default-features']);
    assert.deepEqual(cargoLambdaFlags({ introspection: true, replayStore: true, cedar: false }), [...CARGO_LAMBDA_FLAGS]);
  });

  it('adds the cedar feature only when asked, beside the default features or without them', () => {
    assert.deepEqual(cargoLambdaFlags({ ...ALL_OFF, cedar: true }), [...CARGO_LAMBDA_FLAGS, '--no-default-features', '--features', 'cedar']);
    assert.deepEqual(cargoLambdaFlags({ introspection: true, replayStore: true, cedar: true }), [...CARGO_LAMBDA_FLAGS, '--features', 'cedar']);
  });

  it('names each feature when only some of the default ones are on', () => {
    assert.deepEqual(cargoLambdaFlags({ introspection: true, replayStore: false, cedar: true }), [
      ...CARGO_LAMBDA_FLAGS,
      '--no-default-features',
      '--features',
      'introspection,cedar',
    ]);
    assert.deepEqual(cargoLambdaFlags({ introspection: false, replayStore: true, cedar: false }), [
      ...CARGO_LAMBDA_FLAGS,
      '--no-default-features',
      '--features',
      'replay-store',
    ]);
  });

  it('features of a function: the replay store with introspection (as before DPoP), Cedar with Cedar files', () => {
    assert.deepEqual(featuresOf({}), ALL_OFF);
    assert.deepEqual(featuresOf({ introspectionSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }), {
      introspection: true,
      replayStore: true,
      cedar: false,
    });
    assert.deepEqual(featuresOf({ cedarFiles: [{ local: '/x/p.cedar', inFunction: `${TASK_ROOT}/cedar/policies/p.cedar` }] }), {
      ...ALL_OFF,
      cedar: true,
    });
    assert.deepEqual(featuresOf({ cedarFiles: [] }), ALL_OFF);
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
