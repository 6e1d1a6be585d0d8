import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CARGO_LAMBDA_FLAGS, cargoLambdaFlags } from '../lib/authorizer-function';

describe('cargoLambdaFlags', () => {
  it('keeps the workspace release profile in every build', () => {
    assert.ok(CARGO_LAMBDA_FLAGS.includes('--disable-optimizations'));
    for (const introspection of [true, false]) {
      assert.ok(cargoLambdaFlags(introspection).includes('--disable-optimizations'));
    }
  });

  it('leaves the AWS SDK out unless the function introspects opaque tokens', () => {
    assert.ok(cargoLambdaFlags(false).includes('--no-default-features'));
    assert.ok(!cargoLambdaFlags(true).includes('--no-default-features'));
  });
});
