/**
 * What the GitHub deploy roles (`.github/iam/*-role-policy.json`) must allow: every AWS call the
 * CI path makes with the role's own credentials. The code that makes a call takes it from here
 * (bin/smoke.ts builds its `aws` command line from {@link DESCRIBE_USER_POOL_CLIENT}), the
 * workflows' `aws` commands are checked against {@link CI_AWS_CALLS} by test/ci-role.test.ts, and
 * the CDK CLI's own calls (`sts:AssumeRole` on the bootstrap roles) are read by that test from the
 * synthesized cloud assembly. Pure: no AWS, no configuration.
 */
import type { DeployEnvironment } from './stage-name';

/** Where a call happens: account, region, and the names it is about. */
export interface CallScope {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  /** A user pool of that region (the stack makes its own; any id of the account and region). */
  readonly userPoolId: string;
}

/** One AWS call the CI path makes with the deploy role's credentials (not through a CDK role). */
export interface AwsCall {
  /** `aws <service> <operation>` as the CLI spells it. */
  readonly cli: readonly [service: string, operation: string];
  /** The IAM action it needs. */
  readonly action: string;
  /** A resource ARN it is made on (`*` when the call names no resource). */
  readonly resource: (s: CallScope) => string;
  /** The environments whose jobs make it. */
  readonly environments: readonly DeployEnvironment[];
  /** Who makes it, for the error messages and the docs. */
  readonly by: string;
  /**
   * AWS answers it whatever the policy says (`sts:GetCallerIdentity`): listed so that every `aws`
   * command of the workflows stays checked, never required of a policy.
   */
  readonly needsNoPermission?: true;
}

/**
 * The smoke test reads an app client's secret of the stack's own user pool (deployed without
 * `-c issuer`). The pool is made by the stack, so its id is not known beforehand: any pool of the
 * account and region.
 */
export const DESCRIBE_USER_POOL_CLIENT: AwsCall = {
  cli: ['cognito-idp', 'describe-user-pool-client'],
  action: 'cognito-idp:DescribeUserPoolClient',
  resource: (s) => `arn:${s.partition}:cognito-idp:${s.region}:${s.account}:userpool/${s.userPoolId}`,
  environments: ['preview', 'production'],
  by: 'scripts/smoke.sh (bin/smoke.ts readClientSecret), stage deployed without an issuer',
};

/** The nightly sweep lists every stack (cleanup.yml). */
export const DESCRIBE_STACKS: AwsCall = {
  cli: ['cloudformation', 'describe-stacks'],
  action: 'cloudformation:DescribeStacks',
  resource: () => '*',
  environments: ['preview'],
  by: '.github/workflows/cleanup.yml (sweep)',
};

/**
 * scripts/deploy.sh checks the credentials before it builds anything. No permission is needed:
 * "If an administrator attaches a policy to your identity that explicitly denies access to the
 * sts:GetCallerIdentity action, you can still perform this operation" (STS API reference).
 */
export const GET_CALLER_IDENTITY: AwsCall = {
  cli: ['sts', 'get-caller-identity'],
  action: 'sts:GetCallerIdentity',
  resource: () => '*',
  environments: ['preview', 'production'],
  by: 'scripts/deploy.sh (the credentials check before building)',
  needsNoPermission: true,
};

/** Every call of the CI path made with the deploy role's own credentials. */
export const CI_AWS_CALLS: readonly AwsCall[] = [DESCRIBE_USER_POOL_CLIENT, DESCRIBE_STACKS, GET_CALLER_IDENTITY];

/** The role the CDK CLI assumes for a deploy or destroy: an ARN with `${AWS::…}` placeholders. */
export function resolveCdkRoleArn(template: string, s: CallScope): string {
  return template
    .replaceAll('${AWS::Partition}', s.partition)
    .replaceAll('${AWS::AccountId}', s.account)
    .replaceAll('${AWS::Region}', s.region);
}

/** `aws <service> <operation>` commands in a shell script (a workflow's `run:`), in order. */
export function awsCommandsIn(script: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of script.matchAll(/(?:^|[\s;&|(`$])aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)/g)) out.push([m[1], m[2]]);
  return out;
}
