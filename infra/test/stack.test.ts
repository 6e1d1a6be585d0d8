import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { VPC_ENI_ACTIONS } from '../lib/authorizer-function';
import { ISSUER, only, resources, synth, table } from './helpers';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:authz/introspection-AbCdEf';

describe('the stack (default settings, stage dev)', () => {
  const { stack, template } = synth();
  const fn = (name: string) => only(template, 'AWS::Lambda::Function', (p) => p.FunctionName === name);
  const restMethod = (httpMethod: string, pathPart: string | null) => {
    const resourceId = pathPart === null ? undefined : only(template, 'AWS::ApiGateway::Resource', (p) => p.PathPart === pathPart).id;
    return only(template, 'AWS::ApiGateway::Method', (p) =>
      p.HttpMethod === httpMethod && (resourceId === undefined ? p.ResourceId?.['Fn::GetAtt']?.[1] === 'RootResourceId' : p.ResourceId?.Ref === resourceId),
    ).props;
  };
  const authorizerRef = (type: 'TOKEN' | 'REQUEST') => only(template, 'AWS::ApiGateway::Authorizer', (p) => p.Type === type).id;
  const httpRoute = (key: string) => only(template, 'AWS::ApiGatewayV2::Route', (p) => p.RouteKey === key).props;

  it('is named <App>-<stage>', () => {
    assert.equal(stack.stackName, 'ApiAuthz-dev');
  });

  it('builds one provided.al2023 arm64 Rust function per API and authorizer type', () => {
    const rust = Object.values(resources(template, 'AWS::Lambda::Function')).filter((r) => r.Properties.Runtime === 'provided.al2023');
    assert.deepEqual(rust.map((r) => r.Properties.FunctionName).sort(), [
      'ApiAuthz-dev-pet-store-request',
      'ApiAuthz-dev-pet-store-token',
      'ApiAuthz-dev-solar-system-http',
    ]);
    for (const r of rust) {
      assert.deepEqual(r.Properties.Architectures, ['arm64']);
      assert.equal(r.Properties.Handler, 'bootstrap');
      assert.equal(r.Properties.MemorySize, 128);
      assert.equal(r.Properties.Timeout, 5);
      assert.equal(r.Properties.LoggingConfig.LogFormat, 'JSON');
      assert.equal(r.Properties.LoggingConfig.ApplicationLogLevel, 'INFO');
    }
  });

  it('configures each authorizer from typed settings and routes.json (AUTHZ_ROUTES generated)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-pet-store-token',
      Environment: {
        Variables: {
          AUTHZ_ISSUER: ISSUER,
          AUTHZ_AUDIENCE: 'petstore',
          AUTHZ_ROUTES: JSON.stringify([
            { route: 'GET /pets', scopes: ['read'] },
            { route: 'POST /pets', scopes: ['write'] },
          ]),
          AUTHZ_ALLOWED_API_ARNS: {
            'Fn::Join': ['', Match.arrayWith([':execute-api:', { Ref: Match.stringLikeRegexp('^PetStoreApi') }, '/dev'])],
          },
        },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-pet-store-request',
      Environment: {
        Variables: Match.objectLike({
          AUTHZ_AUDIENCE: 'petstore',
          AUTHZ_ROUTES: JSON.stringify([
            { route: 'GET /pets/{petId}', scopes: ['read'] },
            { route: 'PUT /pets/{petId}', cedar: true },
            { route: 'DELETE /pets/{petId}', cedar: true },
          ]),
        }),
      },
    });
    const http = fn('ApiAuthz-dev-solar-system-http').props.Environment.Variables;
    assert.deepEqual(http, {
      AUTHZ_ISSUER: ISSUER,
      AUTHZ_AUDIENCE: 'solar-system',
      AUTHZ_ROUTES: JSON.stringify([{ route: 'GET /asteroids' }, { route: 'GET /planets', scopes: ['silver', 'gold'] }]),
      AUTHZ_SENDER_CONSTRAINED: 'off',
    });
    for (const name of ['token', 'request', 'http']) {
      const vars = fn(`ApiAuthz-dev-${name === 'http' ? 'solar-system' : 'pet-store'}-${name}`).props.Environment.Variables;
      assert.equal(vars.AUTHZ_INTROSPECTION_SECRET_ARN, undefined, 'no secret unless configured');
    }
  });

  it('gives each function a role that can write its own log group and nothing else', () => {
    const tokenFn = fn('ApiAuthz-dev-pet-store-token');
    const roleId = tokenFn.props.Role['Fn::GetAtt'][0];
    const role = resources(template, 'AWS::IAM::Role')[roleId].Properties;
    assert.equal(role.ManagedPolicyArns, undefined, 'no AWSLambdaBasicExecutionRole');
    const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId),
    );
    assert.equal(policies.length, 1);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    assert.deepEqual(statements.map((s: { Action: unknown }) => s.Action), [['logs:CreateLogStream', 'logs:PutLogEvents']]);
    assert.deepEqual(statements[0].Resource, { 'Fn::GetAtt': [tokenFn.props.LoggingConfig.LogGroup.Ref, 'Arn'] });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/ApiAuthz-dev-pet-store-token',
      RetentionInDays: 30,
    });
  });

  it('deletes a branch stage\'s log groups with the stack', () => {
    for (const [, r] of Object.entries(template.findResources('AWS::Logs::LogGroup'))) {
      assert.equal((r as { DeletionPolicy: string }).DeletionPolicy, 'Delete');
    }
  });

  it('REST: a TOKEN authorizer with the Authorization header, cache TTL from the table', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      Name: 'ApiAuthz-dev-pet-store-token',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^PetStoreTokenAuthorizerFunction'), 'Arn'] }])] }),
    });
  });

  it('REST: a REQUEST authorizer whose identity source is what it reads', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      Name: 'ApiAuthz-dev-pet-store-request',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('REST: each route has the authorizer routes.json gives it', () => {
    assert.equal(restMethod('GET', null).AuthorizationType, 'NONE');
    assert.equal(restMethod('GET', null).AuthorizerId, undefined);
    for (const method of ['GET', 'POST']) {
      const m = restMethod(method, 'pets');
      assert.equal(m.AuthorizationType, 'CUSTOM');
      assert.deepEqual(m.AuthorizerId, { Ref: authorizerRef('TOKEN') });
    }
    // GET by scope, PUT and DELETE by Cedar: all on the REQUEST authorizer.
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const byId = restMethod(method, '{petId}');
      assert.equal(byId.AuthorizationType, 'CUSTOM');
      assert.deepEqual(byId.AuthorizerId, { Ref: authorizerRef('REQUEST') });
    }
    assert.equal(Object.keys(resources(template, 'AWS::ApiGateway::Method')).length, 6, 'no other methods');
    assert.equal(restMethod('GET', 'pets').Integration.Type, 'MOCK');
  });

  it('REST: 401 and 403 answer JSON with an RFC 6750 WWW-Authenticate challenge', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseParameters: {
        'gatewayresponse.header.WWW-Authenticate': Match.stringLikeRegexp('^\'Bearer realm="ApiAuthz-dev-pet-store", error="invalid_token"'),
        'gatewayresponse.header.Content-Type': "'application/json'",
      },
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error":"invalid_token"') },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      StatusCode: '403',
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.WWW-Authenticate': Match.stringLikeRegexp('error="insufficient_scope"'),
      }),
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error":"insufficient_scope"') },
    });
    for (const r of Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse'))) {
      JSON.parse(r.Properties.ResponseTemplates['application/json'].replace('$context.error.messageString', '"m"'));
    }
  });

  it('REST: stage named after the deployment stage, access logs, error-level execution logs, no data trace', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      AccessLogSetting: Match.objectLike({ Format: Match.stringLikeRegexp('authorizerError') }),
      MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true })],
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'ApiAuthz-dev-pet-store' });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('HTTP: the Lambda authorizer answers simple responses, identity source includes the route key', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      Name: 'ApiAuthz-dev-solar-system-http',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 300,
      IdentitySource: ['$request.header.Authorization', '$context.routeKey'],
    });
  });

  it('HTTP: the native JWT authorizer has the issuer, the API\'s audience, and route scopes from the table', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ISSUER, Audience: ['solar-system'] },
    });
    const moons = httpRoute('GET /moons');
    assert.equal(moons.AuthorizationType, 'JWT');
    assert.deepEqual(moons.AuthorizationScopes, ['gold']);
  });

  it('HTTP: each route has the authorizer routes.json gives it', () => {
    const lambdaAuth = only(template, 'AWS::ApiGatewayV2::Authorizer', (p) => p.AuthorizerType === 'REQUEST').id;
    assert.equal(httpRoute('GET /').AuthorizationType, 'NONE');
    for (const key of ['GET /asteroids', 'GET /planets']) {
      const r = httpRoute(key);
      assert.equal(r.AuthorizationType, 'CUSTOM');
      assert.deepEqual(r.AuthorizerId, { Ref: lambdaAuth });
      assert.equal(r.AuthorizationScopes, undefined, 'a Lambda authorizer checks scopes itself');
    }
    assert.equal(Object.keys(resources(template, 'AWS::ApiGatewayV2::Route')).length, 4);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AutoDeploy: true,
      AccessLogSettings: Match.objectLike({ Format: Match.stringLikeRegexp('authorizerError') }),
    });
  });

  it('HTTP: a self-contained inline Node.js backend', () => {
    const backend = fn('ApiAuthz-dev-solar-system-backend').props;
    assert.match(backend.Runtime, /^nodejs/);
    assert.ok(backend.Code.ZipFile.length < 4096);
    assert.match(backend.Code.ZipFile, /GET \/planets/);
  });

  it('counts decisions by decision and reason from the log lines, and alarms on decision=error', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.decision = "*" }',
      MetricTransformations: [
        Match.objectLike({
          MetricNamespace: 'ApiAuthz/dev',
          MetricName: 'PetStoreTokenDecisions',
          MetricValue: '1',
          Dimensions: Match.arrayWith([
            { Key: 'Decision', Value: '$.decision' },
            { Key: 'Reason', Value: '$.reason' },
          ]),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.decision = "error" }',
      MetricTransformations: [Match.objectLike({ MetricName: 'SolarSystemHttpErrors', DefaultValue: 0 })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'ApiAuthz-dev-pet-store-request-authorizer-errors',
      Namespace: 'ApiAuthz/dev',
      MetricName: 'PetStoreRequestErrors',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    // 4 per authorizer (decision=error, Lambda errors, throttles, cold starts) + 5XX per API
    // (test/alarms.test.ts); filters: decisions, errors, cold starts, and 401s for REST ones.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    template.resourceCountIs('AWS::Logs::MetricFilter', 11);
  });

  it('outputs the invoke URLs, the API ids and the function names', () => {
    const outputs = template.findOutputs('*');
    assert.deepEqual(Object.keys(outputs).sort(), [
      'PetStoreApiId',
      'PetStoreRequestFunctionName',
      'PetStoreTokenFunctionName',
      'PetStoreUrl',
      'SolarSystemApiId',
      'SolarSystemHttpFunctionName',
      'SolarSystemUrl',
    ]);
    assert.deepEqual(outputs.PetStoreApiId.Value, { Ref: Object.keys(resources(template, 'AWS::ApiGateway::RestApi'))[0] });
    assert.deepEqual(outputs.SolarSystemApiId.Value, { Ref: Object.keys(resources(template, 'AWS::ApiGatewayV2::Api'))[0] });
    assert.deepEqual(outputs.PetStoreTokenFunctionName.Value, { Ref: fn('ApiAuthz-dev-pet-store-token').id });
    assert.match(JSON.stringify(outputs.SolarSystemUrl.Value), /"\/dev\/"/);
  });
});

describe('settings', () => {
  it('x86_64 is selectable', () => {
    const { template } = synth({ architecture: 'x86_64' });
    const rust = Object.values(resources(template, 'AWS::Lambda::Function')).filter((r) => r.Properties.Runtime === 'provided.al2023');
    assert.equal(rust.length, 3);
    for (const r of rust) assert.deepEqual(r.Properties.Architectures, ['x86_64']);
  });

  it('an introspection secret: env var and GetSecretValue on exactly that secret, for every authorizer', () => {
    const { template } = synth({ introspectionSecretArn: SECRET, stage: 'feat-x' });
    const rust = Object.values(resources(template, 'AWS::Lambda::Function')).filter((r) => r.Properties.Runtime === 'provided.al2023');
    for (const r of rust) assert.equal(r.Properties.Environment.Variables.AUTHZ_INTROSPECTION_SECRET_ARN, SECRET);
    const grants = Object.values(resources(template, 'AWS::IAM::Policy')).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('secretsmanager')),
    );
    assert.equal(grants.length, 3);
    for (const g of grants) {
      assert.deepEqual(g, { Sid: 'ReadIntrospectionSecret', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET });
    }
  });

  it('refuses a secret ARN that is not one', () => {
    assert.throws(() => synth({ introspectionSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:*' }), /introspectionSecretArn/);
  });

  it('typed settings reach the environment; generated variables cannot be overridden', () => {
    const { template } = synth({
      algorithms: 'RS256,ES256',
      contextClaims: 'email,groups',
      audiences: 'pet-store=petstore-prod',
      authzEnvironment: '{"AUTHZ_REQUIRED_TYP":"at+jwt"}',
      memorySizeMb: '512',
      timeoutSeconds: '7',
      logRetentionDays: '90',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-pet-store-token',
      MemorySize: 512,
      Timeout: 7,
      Environment: {
        Variables: Match.objectLike({
          AUTHZ_ALGORITHMS: 'RS256,ES256',
          AUTHZ_CONTEXT_CLAIMS: 'email,groups',
          AUTHZ_AUDIENCE: 'petstore-prod',
          AUTHZ_REQUIRED_TYP: 'at+jwt',
        }),
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: ISSUER, Audience: ['solar-system'] },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    assert.throws(() => synth({ authzEnvironment: 'AUTHZ_ROUTES=[]' }), /AUTHZ_ROUTES is generated/);
    assert.throws(() => synth({ authzEnvironment: 'PATH=/tmp' }), /not an AUTHZ_\* variable/);
    assert.throws(() => synth({ timeoutSeconds: '10' }), /timeoutSeconds 10: 1 to 9/);
    assert.throws(() => synth({ logRetentionDays: '31' }), /logRetentionDays 31/);
  });

  it('VPC placement: subnets, security groups, and ENI permissions', () => {
    const { template } = synth({
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
      availabilityZones: 'eu-west-1a,eu-west-1b',
      securityGroupIds: 'sg-0123456789abcdef0',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-pet-store-token',
      VpcConfig: { SubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'], SecurityGroupIds: ['sg-0123456789abcdef0'] },
    });
    // Exactly the ENI actions, in an inline policy the function waits for; no managed policy
    // (AWSLambdaVPCAccessExecutionRole would add logs:* on every log group).
    for (const r of Object.values(resources(template, 'AWS::IAM::Role'))) {
      assert.equal(r.Properties.ManagedPolicyArns, undefined, JSON.stringify(r.Properties.ManagedPolicyArns));
    }
    const eni = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, r]) =>
      (r as any).Properties.PolicyDocument.Statement.some((st: any) => st.Sid === 'LambdaVpcNetworkInterfaces'),
    );
    assert.equal(eni.length, 3, 'one per authorizer');
    for (const [id, r] of eni) {
      const statements = (r as any).Properties.PolicyDocument.Statement;
      assert.deepEqual(statements, [
        { Sid: 'LambdaVpcNetworkInterfaces', Effect: 'Allow', Action: [...VPC_ENI_ACTIONS], Resource: '*' },
      ]);
      const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => ((f as any).DependsOn ?? []).includes(id));
      assert.equal(fns.length, 1, `${id}: the function depends on its ENI policy`);
    }
    assert.deepEqual([...VPC_ENI_ACTIONS].sort(), [
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
    ]);
  });

  it('the production stage keeps its logs and is protected from deletion', () => {
    const { stack, template } = synth({ stage: 'prod' });
    assert.equal(stack.stackName, 'ApiAuthz-prod');
    assert.equal(stack.terminationProtection, true);
    for (const r of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      assert.equal((r as { DeletionPolicy: string }).DeletionPolicy, 'Retain');
    }
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'ApiAuthz-prod-pet-store-token' });
  });

  it('refuses a stage name that is not one, suggesting the sanitized form', () => {
    assert.throws(() => synth({ stage: 'feature/Login' }), /stage "feature\/Login".*feature-login/);
  });

  it('refuses an issuer that is not https (no issuer at all: test/user-pool.test.ts)', () => {
    assert.throws(() => synth({ issuer: 'http://idp.example.com' }), /must be https/);
  });

  it('optional account-level API Gateway CloudWatch role and WAF association', () => {
    const { template } = synth({
      createApiGatewayCloudWatchRole: 'true',
      webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/authz/0000',
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/authz/0000',
    });
  });
});

describe('route table → API', () => {
  it('identity sources: the route key whenever results are cached (the decision is per route), none when caching is off', () => {
    const doc = (ttl: number, planetsScopes: string[]) => ({
      apis: {
        sky: {
          type: 'http',
          audience: 'sky',
          cacheTtlSeconds: ttl,
          routes: [
            { route: 'GET /asteroids', authorizer: 'http', scopes: ['silver'] },
            { route: 'GET /planets', authorizer: 'http', scopes: planetsScopes },
          ],
        },
      },
    });
    // Same rule on every route: an unlisted route is still denied, so the route key stays.
    const same = synth({}, table(doc(300, ['silver']))).template;
    same.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: ['$request.header.Authorization', '$context.routeKey'] });
    const off = synth({}, table(doc(0, ['gold']))).template;
    off.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  it('REQUEST identity sources include the authz stage variables set on the stage', () => {
    const t = table({ apis: { shop: { type: 'rest', audience: 'shop', routes: [{ route: 'GET /items', authorizer: 'request' }] } } });
    const { template } = synth({ restStageVariables: 'authzRouteSet=v2,other=x', authzEnvironment: { AUTHZ_ROUTE_SETS: '{"v2":[{"route":"GET /items"}]}' } }, t);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,stageVariables.authzRouteSet',
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { Variables: { authzRouteSet: 'v2', other: 'x' } });
  });

  it('authz stage variables are refused where the token authorizer guards a route: a TOKEN event carries none', () => {
    assert.throws(
      () => synth({ restStageVariables: 'authzScopes=admin,other=x' }),
      /pet-store: stage variable authzScopes would not apply to the token authorizer's routes/,
    );
    synth({ restStageVariables: 'other=x' });
  });

  it('a token in the query string needs caching off (then no identity source is required)', () => {
    assert.throws(() => synth({ tokenQueryParam: 'access_token' }), /Set cacheTtlSeconds to 0/);
    const t = table({
      apis: { shop: { type: 'rest', audience: 'shop', cacheTtlSeconds: 0, routes: [{ route: 'GET /items', authorizer: 'request' }] } },
    });
    const { template } = synth({ tokenQueryParam: 'access_token' }, t);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0, IdentitySource: Match.absent() });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-shop-request',
      Environment: { Variables: Match.objectLike({ AUTHZ_TOKEN_QUERY_PARAM: 'access_token' }) },
    });
  });

  it('a table with other APIs and routes builds them (ANY, greedy, $default)', () => {
    const t = table({
      apis: {
        files: {
          type: 'rest',
          audience: 'files',
          cacheTtlSeconds: 60,
          routes: [{ route: 'ANY /files/{proxy+}', authorizer: 'request', claims: { groups: 'staff' } }],
        },
        edge: {
          type: 'http',
          audience: 'edge',
          routes: [{ route: '$default', authorizer: 'http' }],
        },
      },
    });
    const { template } = synth({}, t);
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'ANY', AuthorizationType: 'CUSTOM' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'REQUEST', AuthorizerResultTtlInSeconds: 60 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'CUSTOM' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ApiAuthz-dev-files-request',
      Environment: { Variables: Match.objectLike({ AUTHZ_ROUTES: '[{"route":"ANY /files/{proxy+}","claims":{"groups":"staff"}}]' }) },
    });
  });

  it('refuses a table whose rules would not fit in Lambda\'s 4 KB of environment', () => {
    const routes = Array.from({ length: 100 }, (_, i) => ({ route: `GET /resource-number-${i}`, authorizer: 'token', scopes: ['read', 'admin'] }));
    assert.throws(() => synth({}, table({ apis: { big: { type: 'rest', audience: 'big', routes } } })), /Lambda allows 4096/);
  });
});
