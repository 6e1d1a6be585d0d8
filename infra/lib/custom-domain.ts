/**
 * The stage's custom domain (config.ts, CustomDomainSettings): a regional API Gateway domain with
 * the ACM certificate and TLS 1.2, one API mapping per API under its name, and the outputs that
 * say where DNS must point.
 */
import { CfnOutput } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { type CustomDomainSettings, parseS3Uri } from './config';
import { GroupingConstruct } from './grouping';

/** One API stage to map under the domain. */
export interface MappedStage {
  /** The API's name in routes.json: the base path. */
  readonly apiName: string;
  /** Construct id prefix of the API (`PetStore`). */
  readonly id: string;
  readonly apiId: string;
  readonly stageName: string;
  /** The stage resource: the mapping names it, so it must exist first. */
  readonly dependable: Construct;
}

/** Properties of {@link StageCustomDomain}. */
export interface StageCustomDomainProps {
  readonly settings: CustomDomainSettings;
  readonly stages: readonly MappedStage[];
}

/**
 * `https://<domainName>/<api>/` for every API of the stage. A grouping construct: its resources
 * and outputs keep the logical ids they had when the stack made them itself.
 */
export class StageCustomDomain extends GroupingConstruct {
  readonly domain: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: StageCustomDomainProps) {
    super(scope, id);
    const { domainName, certificateArn, mutualTls } = props.settings;
    const truststore = mutualTls ? parseS3Uri(mutualTls.truststoreUri) : undefined;
    if (mutualTls && !truststore) throw new Error(`mtlsTruststoreUri "${mutualTls.truststoreUri}" is not s3://bucket/key`);
    this.domain = new apigwv2.DomainName(this, 'CustomDomain', {
      domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'CustomDomainCertificate', certificateArn),
      endpointType: apigwv2.EndpointType.REGIONAL,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      // Mutual TLS: a client certificate chaining to the truststore, or no connection. API
      // Gateway reads the truststore from S3 when the domain is created or updated.
      ...(truststore
        ? {
            mtls: {
              bucket: s3.Bucket.fromBucketName(this, 'TruststoreBucket', truststore.bucket),
              key: truststore.key,
              ...(mutualTls?.truststoreVersion !== undefined ? { version: mutualTls.truststoreVersion } : {}),
            },
          }
        : {}),
    });
    for (const stage of props.stages) {
      const mapping = new apigwv2.CfnApiMapping(this, `${stage.id}CustomDomainMapping`, {
        domainName: this.domain.name,
        apiId: stage.apiId,
        stage: stage.stageName,
        apiMappingKey: stage.apiName,
      });
      // The mapping names the domain and the stage by name: both must exist first.
      mapping.node.addDependency(this.domain, stage.dependable);
      new CfnOutput(this, `${stage.id}CustomUrl`, {
        value: `https://${domainName}/${stage.apiName}/`,
        description: `The ${stage.apiName} API on the custom domain`,
      });
    }
    new CfnOutput(this, 'CustomDomainTarget', {
      value: this.domain.regionalDomainName,
      description: `Point ${domainName} here (a CNAME, or an alias record with the CustomDomainHostedZone output)`,
    });
    new CfnOutput(this, 'CustomDomainHostedZone', { value: this.domain.regionalHostedZoneId, description: 'Hosted zone id for an alias record' });
  }
}
