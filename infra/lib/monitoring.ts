/**
 * The stage's monitoring, apart from what it watches (as cdk-monitoring-constructs keeps it): per
 * API a 5XX alarm and dashboard graphs of the API and of each authorizer's decisions, the
 * authorizers' own alarms (made by AuthorizerFunction, with its metrics) on the alarm-status
 * widget, and the dashboard `<app>-<stage>`.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type AuthorizerFunction, DECISIONS } from './authorizer-function';
import { GroupingConstruct } from './grouping';
import type { LambdaAuthorizerType } from './route-table';

/** One API of the stage as monitoring sees it. */
export interface MonitoredApi {
  /** The API's name in routes.json. */
  readonly name: string;
  /** Construct id prefix of the API (`PetStore`). */
  readonly id: string;
  /** Physical name prefix `<app>-<stage>-<api>`. */
  readonly namePrefix: string;
  /** The stage's 5XX count (SUM over the alarm period). */
  readonly serverErrors: cloudwatch.IMetric;
  /** Its Lambda authorizers by type. */
  readonly authorizers: Readonly<Partial<Record<LambdaAuthorizerType, AuthorizerFunction>>>;
}

/** Properties of {@link StageMonitoring}. */
export interface StageMonitoringProps {
  readonly stage: string;
  /** Dashboard name (`<app>-<stage>`). */
  readonly dashboardName: string;
  readonly apis: readonly MonitoredApi[];
  /** SNS topic every alarm notifies. */
  readonly alarmTopicArn?: string;
}

/**
 * Alarms and dashboard of one stage. A grouping construct: its resources keep the logical ids
 * they had when the stack made them itself.
 */
export class StageMonitoring extends GroupingConstruct {
  /** Every alarm of the stage: per API 5XX, per authorizer faults, Lambda errors, throttles, cold starts. */
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: StageMonitoringProps) {
    super(scope, id);
    const alarmTopic = props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined;
    const alarms: cloudwatch.Alarm[] = [];
    const widgets: cloudwatch.IWidget[] = [];
    for (const api of props.apis) {
      // What callers saw: any 5XX of the API (authorizer faults, throttles, integration errors).
      const serverErrorAlarm = new cloudwatch.Alarm(this, `${api.id}ServerErrorsAlarm`, {
        alarmName: `${api.namePrefix}-5xx`,
        alarmDescription: `The ${api.name} API answered 5XX (stage ${props.stage}); the authorizer alarms and the access log's authorizerError say why`,
        metric: api.serverErrors,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (alarmTopic) serverErrorAlarm.addAlarmAction(new cwActions.SnsAction(alarmTopic));
      alarms.push(serverErrorAlarm, ...Object.values(api.authorizers).flatMap((f) => f.alarms));
      widgets.push(new cloudwatch.GraphWidget({ title: `${api.name} API: 5XX`, left: [api.serverErrors], width: 12 }));
      for (const [type, fn] of Object.entries(api.authorizers)) {
        widgets.push(
          new cloudwatch.GraphWidget({
            title: `${api.name} ${type} authorizer: decisions`,
            left: DECISIONS.map((d) => fn.decisionMetric(d)),
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: `${api.name} ${type} authorizer: decisions by reason`,
            left: [fn.decisionsByReason()],
            width: 12,
          }),
        );
      }
    }
    this.alarms = alarms;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [[new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms, width: 24 })], ...widgets.map((w) => [w])],
    });
  }
}
