/**
 * The stage's DPoP replay table (RFC 9449 §11.1): the authorizers of every API with
 * sender-constrained tokens (`senderConstrained` accept or require in routes.json) record each
 * proof they accept with a conditional put, so a proof is accepted once across all their
 * execution environments (authz-core `replay`: partition key `proof`, TTL attribute
 * `expires_at`). Made only when an API needs it.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The table's partition key: a proof's key thumbprint and `jti` (authz-core `replay::KEY_ATTRIBUTE`; test/golden.test.ts holds them equal). */
export const REPLAY_KEY_ATTRIBUTE = 'proof';

/** The item's expiry in seconds since the epoch (authz-core `replay::EXPIRES_ATTRIBUTE`; test/golden.test.ts holds them equal), the table's TTL attribute. */
export const REPLAY_EXPIRES_ATTRIBUTE = 'expires_at';

/** Properties of {@link DpopReplayTable}. */
export interface DpopReplayTableProps {
  /** Physical table name when the table goes with the stack (`<app>-<stage>-dpop-replay`). */
  readonly tableName: string;
  /** The stage's: a kept table gets a generated name, so the stage can be deployed again. */
  readonly removalPolicy: RemovalPolicy;
}

/** One on-demand DynamoDB table of used DPoP proofs, items expiring by TTL. */
export class DpopReplayTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DpopReplayTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      // A kept table with a fixed name would make the next deploy of the stage fail ("already exists").
      tableName: props.removalPolicy === RemovalPolicy.RETAIN ? undefined : props.tableName,
      partitionKey: { name: REPLAY_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: REPLAY_EXPIRES_ATTRIBUTE,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Point-in-time recovery would restore only used DPoP proofs, each useless once its iat leaves the proof window ' +
        '(AUTHZ_DPOP_MAX_AGE_SECONDS, 60 s by default) and deleted by TTL after expires_at; a lost table costs at most that window of ' +
        'replay protection across execution environments (each environment also remembers the proofs it accepted), and PITR would bill for nothing.',
    });
  }
}
