import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthorizerFeatures, CARGO_LAMBDA_FLAGS, cargoLambdaFlags } from '../lib/authorizer-function';

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
});
