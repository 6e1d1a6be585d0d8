import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { type VpcPlacement, logGroupNameFor } from './config';

/** Flags every authorizer build passes to `cargo lambda build`. */
export const CARGO_LAMBDA_FLAGS: readonly string[] = ['--disable-optimizations'];

/** The optional cargo features of an authorizer binary its configuration needs. */
export interface AuthorizerFeatures {
  /** `introspection`: RFC 7662 with the client secret in Secrets Manager (the AWS SDK). */
  readonly introspection: boolean;
  /** `replay-store`: the DPoP replay table in DynamoDB (`AUTHZ_DPOP_REPLAY_TABLE`; the AWS SDK). */
  readonly replayStore: boolean;
  /** `cedar`: Cedar-decided route rules (the `cedar-policy` engine). */
  readonly cedar: boolean;
}

/** Each feature's cargo name. */
const CARGO_FEATURES: Readonly<Record<keyof AuthorizerFeatures, string>> = {
  introspection: 'introspection',
  replayStore: 'replay-store',
  cedar: 'cedar',
};

/**
 * The cargo features of `needed` (as `authz-config` names what a configuration needs:
 * `CacheKey.features`) that `features` does not build in: a binary without one would refuse its
 * configuration at cold start.
 */
export function missingFeatures(features: AuthorizerFeatures, needed: readonly string[]): string[] {
  const built = new Set((Object.keys(CARGO_FEATURES) as (keyof AuthorizerFeatures)[]).filter((f) => features[f]).map((f) => CARGO_FEATURES[f]));
  return needed.filter((f) => !built.has(f));
}

/**
 * The `cargo lambda build` flags of one authorizer (`binary`, its Cargo package):
 * {@link CARGO_LAMBDA_FLAGS}, `--no-default-features`, and `--features <binary>/<feature>,…` for
 * exactly the features its configuration uses. The AWS SDK sits behind `introspection` (Secrets
 * Manager) and `replay-store` (DynamoDB); leaving it out makes the binary about 40 % smaller
 * (BENCHMARKS.md), and a binary without a feature refuses its setting at cold start, so the two
 * cannot drift apart silently. (`package/feature`: the workspace root is a virtual manifest.)
 */
export function cargoLambdaFlags(binary: string, features: AuthorizerFeatures): string[] {
  const on = (Object.keys(CARGO_FEATURES) as (keyof AuthorizerFeatures)[]).filter((f) => features[f]);
  return [
    ...CARGO_LAMBDA_FLAGS,
    '--no-default-features',
    ...(on.length > 0 ? ['--features', on.map((f) => `${binary}/${CARGO_FEATURES[f]}`).join(',')] : []),
  ];
}

/**
 * Decision values the authorizers log (`decision` key of each decision line): exactly
 * `authz_core::DECISIONS`, checked by test/golden.test.ts against tests/golden/route-semantics.json.
 */
export const DECISIONS = ['allow', 'deny', 'unauthorized', 'error'] as const;

/** Where a CA bundle given to the app lands in the function (`/var/task` is Lambda's task root). */
export const CA_BUNDLE_FILE_NAME = 'ca-bundle.pem';
/** Lambda's task root: the asset's contents. */
export const TASK_ROOT = '/var/task';
export const CA_BUNDLE_PATH = `${TASK_ROOT}/${CA_BUNDLE_FILE_NAME}`;

/**
 * cargo-lambda-cdk bundling hook copying the CA bundle next to `bootstrap` (bash, host side:
 * the app bundles locally). The copy is part of the asset, so its hash changes with the file.
 */
export function caBundleHook(caBundleFile: string): { beforeBundling(i: string, o: string): string[]; afterBundling(i: string, o: string): string[] } {
  return bundleFilesHook([{ local: caBundleFile, inFunction: CA_BUNDLE_PATH }]);
}

/**
 * cargo-lambda-cdk bundling hook copying files into the asset, each at its path under
 * `/var/task` (the asset's root): the CA bundle, the Cedar policies and schema (lib/cedar.ts).
 */
export function bundleFilesHook(
  files: readonly { readonly local: string; readonly inFunction: string }[],
): { beforeBundling(i: string, o: string): string[]; afterBundling(i: string, o: string): string[] } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return {
    beforeBundling: () => [],
    afterBundling: (_input: string, output: string) =>
      files.flatMap((f) => {
        const inAsset = path.join(output, path.relative(TASK_ROOT, f.inFunction));
        if (path.relative(output, inAsset).startsWith('..') || !f.inFunction.startsWith(`${TASK_ROOT}/`)) throw new Error(`${f.inFunction} is not under ${TASK_ROOT}`);
        const dir = path.dirname(inAsset);
        return [...(dir === output ? [] : [`mkdir -p -- ${q(dir)}`]), `cp -- ${q(f.local)} ${q(inAsset)}`];
      }),
  };
}
/**
 * What Lambda needs to place a function in a VPC: the network-interface actions of
 * AWSLambdaVPCAccessExecutionRole without its CloudWatch Logs actions on every log group.
 */
export const VPC_ENI_ACTIONS: readonly string[] = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
];

/** Properties of {@link AuthorizerFunction}. */
export interface AuthorizerFunctionProps {
  /** Cargo package and binary name under `crates/` (e.g. `token-authorizer`). */
  readonly binary: string;
  /** Directory holding the Cargo workspace manifest. */
  readonly workspaceRoot: string;
  /** Physical function name (stage-named). */
  readonly functionName: string;
  readonly description: string;
  /** The complete environment (AUTHZ_* configuration). */
  readonly environment: Readonly<Record<string, string>>;
  readonly architecture: lambda.Architecture;
  readonly memorySizeMb: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack goes. */
  readonly logRemovalPolicy: RemovalPolicy;
  /** Secrets Manager secret holding the introspection client credentials (RFC 7662). */
  readonly introspectionSecretArn?: string;
  /**
   * The stage's DPoP replay table (the API has sender-constrained tokens): the role may
   * `dynamodb:PutItem` on it and nothing else, and the binary is built with `replay-store`.
   * The environment names it (`AUTHZ_DPOP_REPLAY_TABLE`).
   */
  readonly replayTable?: dynamodb.ITable;
  /** VPC placement, for IdPs reachable only inside a VPC. */
  readonly vpc?: VpcPlacement;
  /** PEM file of extra trusted CAs: shipped as {@link CA_BUNDLE_PATH}, named by `AUTHZ_CA_BUNDLE`. */
  readonly caBundleFile?: string;
  /**
   * The Cedar policy and schema files it decides with (lib/cedar.ts `cedarFilesOf`; the
   * environment names them): copied into the asset; the function is built with the `cedar`
   * feature exactly when there are some.
   */
  readonly cedarFiles?: readonly { readonly local: string; readonly inFunction: string }[];
  /** CloudWatch namespace of the decision metrics. */
  readonly metricNamespace: string;
  /** Prefix of this function's metric names and of its alarm name (PascalCase). */
  readonly metricPrefix: string;
  /** Alarm name (stage-named). */
  readonly alarmName: string;
  /** Where the alarms notify, if anywhere. */
  readonly alarmTopicArn?: string;
  /**
   * Whether a 401 is a function error to Lambda: true for REST TOKEN/REQUEST authorizers (they
   * answer the error `Unauthorized`), false for the HTTP authorizer (simple responses). Lambda's
   * `Errors` alarm then counts only the errors that are not `decision = unauthorized` lines.
   */
  readonly unauthorizedIsFunctionError: boolean;
  /** Reserved concurrency (unset: the account's unreserved pool). */
  readonly reservedConcurrency?: number;
  /** X-Ray active tracing. */
  readonly tracing: boolean;
}

/** The cargo features of an authorizer function: introspection with its secret, the replay store with the DPoP replay table, Cedar with Cedar files. */
export function featuresOf(props: Pick<AuthorizerFunctionProps, 'introspectionSecretArn' | 'replayTable' | 'cedarFiles'>): AuthorizerFeatures {
  return {
    introspection: Boolean(props.introspectionSecretArn),
    replayStore: props.replayTable !== undefined,
    cedar: (props.cedarFiles?.length ?? 0) > 0,
  };
}

/** The message the binaries log when a cold start fails (authz-lambda's `or_init_error`). */
export const COLD_START_FAILED_MESSAGE = 'cold start failed';

/** Period of every alarm and dashboard metric. */
export const ALARM_PERIOD = Duration.minutes(5);

/**
 * One Rust authorizer as a Lambda function: built by cargo-lambda (`RustFunction`), its own log
 * group with retention, a role that can write to that log group only (plus, when configured,
 * read the one introspection secret, put items in the stage's DPoP replay table and manage VPC
 * network interfaces), metrics by decision and
 * reason from the decision log lines, and an alarm on `decision = error`.
 */
export class AuthorizerFunction extends Construct {
  readonly function: lambda.Function;
  /** The cargo features it is built with. */
  readonly features: AuthorizerFeatures;
  /** The files copied into its asset, each at its `/var/task` path (CA bundle, Cedar files). */
  readonly bundledFiles: readonly { readonly local: string; readonly inFunction: string }[];
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
  /** The `cargo lambda build` flags it is bundled with ({@link cargoLambdaFlags}). */
  readonly buildFlags: readonly string[];
  /** Count of every decision, dimensions `Decision` and `Reason`. */
  readonly decisionsMetricName: string;
  /** Count of `decision = error` lines (faults: API Gateway answered 500). */
  readonly errorsMetric: cloudwatch.Metric;
  readonly errorAlarm: cloudwatch.Alarm;
  /** Lambda `Errors` that are not 401s: crashes, timeouts, failed cold starts. */
  readonly lambdaErrorsAlarm: cloudwatch.Alarm;
  readonly throttlesAlarm: cloudwatch.Alarm;
  /** `cold start failed` lines: a bad configuration, an unreachable IdP at start. */
  readonly coldStartFailuresAlarm: cloudwatch.Alarm;
  /** Every alarm of this function. */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AuthorizerFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: logGroupNameFor(`/aws/lambda/${props.functionName}`, props.logRemovalPolicy === RemovalPolicy.RETAIN),
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}: its own log group only`,
    });
    this.logGroup.grantWrite(this.role);

    let vpcProps: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
    let eniPolicy: iam.Policy | undefined;
    if (props.vpc) {
      const v = props.vpc;
      const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: v.vpcId,
        availabilityZones: [...v.availabilityZones],
      });
      vpcProps = {
        vpc,
        vpcSubnets: {
          subnets: v.subnetIds.map((subnetId, i) =>
            ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, {
              subnetId,
              availabilityZone: v.availabilityZones[i % v.availabilityZones.length],
            }),
          ),
        },
        securityGroups: v.securityGroupIds.map((sg, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sg)),
      };
      // Lambda creates and deletes the function's network interfaces with this role: exactly
      // the ENI actions (AWSLambdaVPCAccessExecutionRole would add logs:* on every log group).
      eniPolicy = new iam.Policy(this, 'NetworkInterfaces', {
        statements: [new iam.PolicyStatement({ sid: 'LambdaVpcNetworkInterfaces', actions: [...VPC_ENI_ACTIONS], resources: ['*'] })],
      });
      this.role.attachInlinePolicy(eniPolicy);
      Validations.of(eniPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'VPC placement: Lambda manages the function\'s network interfaces with ec2:CreateNetworkInterface, DescribeNetworkInterfaces, DescribeSubnets, DeleteNetworkInterface, AssignPrivateIpAddresses and UnassignPrivateIpAddresses; these actions support no resource-level scoping (the ENIs do not exist yet), so the resource is *. Exactly these actions, nothing else.',
      });
    }

    const bundled = [
      ...(props.caBundleFile ? [{ local: props.caBundleFile, inFunction: CA_BUNDLE_PATH }] : []),
      ...(props.cedarFiles ?? []).map((f) => ({ local: f.local, inFunction: f.inFunction })),
    ];
    this.bundledFiles = bundled;
    // Only the features the configuration uses: without an introspection secret or a replay
    // table, the AWS SDK is left out; Cedar only where a route is Cedar-decided (see cargoLambdaFlags).
    this.features = featuresOf(props);
    this.buildFlags = cargoLambdaFlags(props.binary, this.features);
    this.function = new RustFunction(this, 'Function', {
      manifestPath: path.join(props.workspaceRoot, 'Cargo.toml'),
      binaryName: props.binary,
      runtime: 'provided.al2023',
      bundling: {
        // The workspace's release profile is deliberate (fat LTO, one codegen unit, stripped,
        // panic = "unwind" so lambda_runtime turns a panic into one failed invocation).
        // cargo-lambda's own "release optimizations" would override it with panic = "abort"
        // (a panic would kill the process and every request it holds) and a target-cpu flag.
        cargoLambdaFlags: [...this.buildFlags],
        ...(bundled.length > 0 ? { commandHooks: bundleFilesHook(bundled) } : {}),
      },
      architecture: props.architecture,
      functionName: props.functionName,
      description: props.description,
      memorySize: props.memorySizeMb,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: { ...props.environment, ...(props.caBundleFile ? { AUTHZ_CA_BUNDLE: CA_BUNDLE_PATH } : {}) },
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...vpcProps,
    });
    if (props.tracing) {
      // Lambda adds xray:PutTraceSegments/PutTelemetryRecords on * to the role's default policy.
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (the tracing setting): xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level scoping, so Lambda\'s tracing grant is on *.',
      });
    }
    // Lambda checks the ENI permissions when it creates the function.
    if (eniPolicy) this.function.node.addDependency(eniPolicy);

    if (props.introspectionSecretArn) {
      // Exactly this secret, exactly this action: no wildcard, no DescribeSecret/List*.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadIntrospectionSecret',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.introspectionSecretArn],
        }),
      );
    }

    if (props.replayTable) {
      // Exactly this table, exactly the conditional put of a proof: no read, no update, no delete.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'RecordDpopProofs',
          actions: ['dynamodb:PutItem'],
          resources: [props.replayTable.tableArn],
        }),
      );
    }

    const namespace = props.metricNamespace;
    this.decisionsMetricName = `${props.metricPrefix}Decisions`;
    new logs.MetricFilter(this, 'DecisionsMetricFilter', {
      logGroup: this.logGroup,
      filterName: `${props.functionName}-decisions`,
      filterPattern: logs.FilterPattern.exists('$.decision'),
      metricNamespace: namespace,
      metricName: this.decisionsMetricName,
      metricValue: '1',
      unit: cloudwatch.Unit.COUNT,
      dimensions: { Decision: '$.decision', Reason: '$.reason' },
    });
    const errorsName = `${props.metricPrefix}Errors`;
    new logs.MetricFilter(this, 'ErrorsMetricFilter', {
      logGroup: this.logGroup,
      filterName: `${props.functionName}-errors`,
      filterPattern: logs.FilterPattern.stringValue('$.decision', '=', 'error'),
      metricNamespace: namespace,
      metricName: errorsName,
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    this.errorsMetric = new cloudwatch.Metric({
      namespace,
      metricName: errorsName,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    });
    // `decision = error` is a fault the code saw (e.g. the IdP unreachable): API Gateway answered 500.
    this.errorAlarm = new cloudwatch.Alarm(this, 'ErrorAlarm', {
      alarmName: props.alarmName,
      alarmDescription: `${props.functionName} answered with a fault (decision=error, API Gateway 500); see its log group for the reason`,
      metric: this.errorsMetric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A failed cold start (bad configuration, unreachable IdP) never reaches a decision line.
    const coldStartName = `${props.metricPrefix}ColdStartFailures`;
    new logs.MetricFilter(this, 'ColdStartFailuresMetricFilter', {
      logGroup: this.logGroup,
      filterName: `${props.functionName}-cold-start-failures`,
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', COLD_START_FAILED_MESSAGE),
      metricNamespace: namespace,
      metricName: coldStartName,
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    this.coldStartFailuresAlarm = new cloudwatch.Alarm(this, 'ColdStartFailuresAlarm', {
      alarmName: `${props.functionName}-cold-start-failures`,
      alarmDescription: `${props.functionName} failed to start (its log says "${COLD_START_FAILED_MESSAGE}" and names the setting); every request it should have answered got a 500`,
      metric: new cloudwatch.Metric({ namespace, metricName: coldStartName, statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Lambda's Errors: crashes, timeouts and failed inits too, none of which log a decision.
    // For REST authorizers every 401 is also a Lambda error, so those are subtracted.
    const lambdaErrors = this.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD });
    let faults: cloudwatch.IMetric = lambdaErrors;
    if (props.unauthorizedIsFunctionError) {
      const unauthorizedName = `${props.metricPrefix}Unauthorized`;
      new logs.MetricFilter(this, 'UnauthorizedMetricFilter', {
        logGroup: this.logGroup,
        filterName: `${props.functionName}-unauthorized`,
        filterPattern: logs.FilterPattern.stringValue('$.decision', '=', 'unauthorized'),
        metricNamespace: namespace,
        metricName: unauthorizedName,
        metricValue: '1',
        defaultValue: 0,
        unit: cloudwatch.Unit.COUNT,
      });
      faults = new cloudwatch.MathExpression({
        expression: 'FILL(errors, 0) - FILL(unauthorized, 0)',
        usingMetrics: {
          errors: lambdaErrors,
          unauthorized: new cloudwatch.Metric({ namespace, metricName: unauthorizedName, statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
        },
        label: 'Lambda errors that are not 401s',
        period: ALARM_PERIOD,
      });
    }
    this.lambdaErrorsAlarm = new cloudwatch.Alarm(this, 'LambdaErrorsAlarm', {
      alarmName: `${props.functionName}-lambda-errors`,
      alarmDescription: `${props.functionName}: Lambda errors other than 401s (a crash, a timeout, a failed cold start); API Gateway answered 500`,
      metric: faults,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.throttlesAlarm = new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmName: `${props.functionName}-throttles`,
      alarmDescription: `${props.functionName} was throttled (account or reserved concurrency reached); API Gateway answered 500`,
      metric: this.function.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = [this.errorAlarm, this.lambdaErrorsAlarm, this.throttlesAlarm, this.coldStartFailuresAlarm];
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const alarm of this.alarms) alarm.addAlarmAction(new cwActions.SnsAction(topic));
    }
  }

  /** Decisions by decision and reason, one line per pair (for the dashboard). */
  decisionsByReason(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${this.errorsMetric.namespace},Decision,Reason} MetricName="${this.decisionsMetricName}"', 'Sum', 300)`,
      label: '',
      period: ALARM_PERIOD,
    });
  }

  /** The decision metric for one decision value, summed over reasons. */
  decisionMetric(decision: (typeof DECISIONS)[number]): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SUM(SEARCH('{${this.errorsMetric.namespace},Decision,Reason} MetricName="${this.decisionsMetricName}" Decision="${decision}"', 'Sum', 300))`,
      label: decision,
      period: Duration.minutes(5),
    });
  }
}
