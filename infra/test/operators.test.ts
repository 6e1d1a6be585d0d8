/** Operator options: throttling (stage and route), reserved concurrency, X-Ray. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../lib/config';
import { resources, synth, table } from './helpers';

describe('throttling', () => {
  it('every stage has the default stage throttle', () => {
    const { template } = synth();
    const rest = Object.values(resources(template, 'AWS::ApiGateway::Stage'))[0].Properties;
    const all = rest.MethodSettings.find((m: any) => m.ResourcePath === '/*' && m.HttpMethod === '*');
    assert.equal(all.ThrottlingRateLimit, DEFAULTS.throttle.rateLimit);
    assert.equal(all.ThrottlingBurstLimit, DEFAULTS.throttle.burstLimit);
    const http = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'))[0].Properties;
    assert.deepEqual(http.DefaultRouteSettings, { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    assert.equal(http.RouteSettings, undefined);
  });

  it('stage and route throttles are overridable', () => {
    const { template } = synth({
      throttleRateLimit: '500',
      throttleBurstLimit: '1000',
      routeThrottles: '{"POST /pets":"5:10","GET /moons":"1:2"}',
    });
    const rest = Object.values(resources(template, 'AWS::ApiGateway::Stage'))[0].Properties;
    const all = rest.MethodSettings.find((m: any) => m.ResourcePath === '/*');
    assert.equal(all.ThrottlingRateLimit, 500);
    assert.equal(all.ThrottlingBurstLimit, 1000);
    const post = rest.MethodSettings.find((m: any) => m.ResourcePath === '/~1pets' && m.HttpMethod === 'POST');
    assert.ok(post, JSON.stringify(rest.MethodSettings));
    assert.equal(post.ThrottlingRateLimit, 5);
    assert.equal(post.ThrottlingBurstLimit, 10);
    const [httpId, httpStage] = Object.entries(resources(template, 'AWS::ApiGatewayV2::Stage'))[0] as [string, any];
    assert.deepEqual(httpStage.Properties.RouteSettings, { 'GET /moons': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } });
    const moons = Object.entries(resources(template, 'AWS::ApiGatewayV2::Route')).find(([, r]) => r.Properties.RouteKey === 'GET /moons')![0];
    assert.ok(((template.toJSON().Resources[httpId].DependsOn ?? []) as string[]).includes(moons), 'the stage waits for the route it names');
  });

  it('a throttle on an ANY route is the method setting for every method (*)', () => {
    const t = table({
      apis: {
        files: {
          type: 'rest',
          audience: 'files',
          routes: [{ route: 'ANY /files/{proxy+}', authorizer: 'request' }],
        },
      },
    });
    const { template } = synth({ routeThrottles: 'ANY /files/{proxy+}=3:6' }, t);
    const settings = Object.values(resources(template, 'AWS::ApiGateway::Stage'))[0].Properties.MethodSettings;
    const files = settings.find((m: any) => m.ResourcePath === '/~1files~1{proxy+}');
    assert.ok(files, JSON.stringify(settings));
    assert.equal(files.HttpMethod, '*');
    assert.equal(files.ThrottlingRateLimit, 3);
  });

  it('refuses a throttle for a route that does not exist, or past the account limits', () => {
    assert.throws(() => synth({ routeThrottles: 'GET /nope=1:1' }), /routeThrottles: "GET \/nope" is no route/);
    assert.throws(() => synth({ routeThrottles: 'GET /pets=fast' }), /RATE:BURST/);
    assert.throws(() => synth({ throttleBurstLimit: '6000' }), /burst 6000: 1 to 5000/);
  });
});

describe('reserved concurrency and X-Ray', () => {
  it('are off by default', () => {
    const { template } = synth();
    for (const f of Object.values(resources(template, 'AWS::Lambda::Function')).filter((x) => x.Properties.Runtime === 'provided.al2023')) {
      assert.equal(f.Properties.ReservedConcurrentExecutions, undefined);
      assert.equal(f.Properties.TracingConfig, undefined);
    }
  });

  it('set each authorizer and the REST stage when asked for', () => {
    const { template } = synth({ reservedConcurrency: '50', tracing: 'true' });
    const rust = Object.values(resources(template, 'AWS::Lambda::Function')).filter((x) => x.Properties.Runtime === 'provided.al2023');
    assert.equal(rust.length, 3);
    for (const f of rust) {
      assert.equal(f.Properties.ReservedConcurrentExecutions, 50);
      assert.deepEqual(f.Properties.TracingConfig, { Mode: 'Active' });
    }
    assert.equal(Object.values(resources(template, 'AWS::ApiGateway::Stage'))[0].Properties.TracingEnabled, true);
  });

  it('refuses reserved concurrency 0 (it would stop every authorizer)', () => {
    assert.throws(() => synth({ reservedConcurrency: '0' }), /reservedConcurrency 0/);
  });
});

describe('usage plans (API keys from the authorizer)', () => {
  it('are off by default: no plan, keys from the header source, no key required', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    const api = Object.values(resources(template, 'AWS::ApiGateway::RestApi'))[0].Properties;
    assert.equal(api.ApiKeySourceType, undefined);
    for (const m of Object.values(resources(template, 'AWS::ApiGateway::Method'))) assert.equal(m.Properties.ApiKeyRequired, undefined);
  });

  it('usagePlanClaim: apiKeySource AUTHORIZER, the claim to the REST authorizers, keys on guarded methods, a plan on the stage', () => {
    const { template } = synth({ usagePlanClaim: 'client_id', usagePlanQuotaPerDay: '5000' });
    const api = Object.values(resources(template, 'AWS::ApiGateway::RestApi'))[0].Properties;
    assert.equal(api.ApiKeySourceType, 'AUTHORIZER');
    const methods = Object.values(resources(template, 'AWS::ApiGateway::Method'));
    for (const m of methods) {
      assert.equal(m.Properties.ApiKeyRequired, m.Properties.AuthorizationType === 'CUSTOM' ? true : undefined, JSON.stringify(m.Properties.HttpMethod));
    }
    assert.ok(methods.some((m) => m.Properties.AuthorizationType === 'NONE'), 'the public landing page stays free');
    const fns = Object.values(resources(template, 'AWS::Lambda::Function'));
    for (const f of fns) {
      const v = f.Properties.Environment?.Variables ?? {};
      const rest = /pet-store-(token|request)$/.test(f.Properties.FunctionName);
      assert.equal(v.AUTHZ_USAGE_IDENTIFIER_CLAIM, rest ? 'client_id' : undefined, f.Properties.FunctionName);
    }
    const plans = Object.values(resources(template, 'AWS::ApiGateway::UsagePlan'));
    assert.equal(plans.length, 1);
    assert.deepEqual(plans[0].Properties.Quota, { Limit: 5000, Period: 'DAY' });
    assert.deepEqual(plans[0].Properties.Throttle, { RateLimit: 100, BurstLimit: 200 });
    assert.equal(plans[0].Properties.ApiStages.length, 1);
    assert.ok('PetStoreUsagePlanId' in template.findOutputs('*'));
  });

  it('a quota without a claim, or the claim through authzEnvironment, is refused', () => {
    assert.throws(() => synth({ usagePlanQuotaPerDay: '10' }), /usagePlanQuotaPerDay needs usagePlanClaim/);
    assert.throws(() => synth({ authzEnvironment: 'AUTHZ_USAGE_IDENTIFIER_CLAIM=sub' }), /AUTHZ_USAGE_IDENTIFIER_CLAIM is generated/);
  });
});

describe('CORS (corsOrigin)', () => {
  const ORIGIN = 'https://app.example.com';

  it('is off by default: no OPTIONS methods, no CORS headers, no HTTP CORS configuration', () => {
    const { template } = synth();
    for (const m of Object.values(resources(template, 'AWS::ApiGateway::Method'))) assert.notEqual(m.Properties.HttpMethod, 'OPTIONS');
    for (const g of Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse'))) {
      assert.equal(g.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin'], undefined);
    }
    assert.equal(Object.values(resources(template, 'AWS::ApiGatewayV2::Api'))[0].Properties.CorsConfiguration, undefined);
  });

  it('REST: a public preflight per resource, the origin on 200s and on the 401/403 gateway responses, WWW-Authenticate exposed', () => {
    const { template } = synth({ corsOrigin: ORIGIN });
    const methods = Object.values(resources(template, 'AWS::ApiGateway::Method'));
    const options = methods.filter((m) => m.Properties.HttpMethod === 'OPTIONS');
    assert.equal(options.length, Object.keys(resources(template, 'AWS::ApiGateway::Resource')).length + 1, 'root and every resource');
    for (const o of options) {
      assert.equal(o.Properties.AuthorizationType, 'NONE');
      const p = o.Properties.Integration.IntegrationResponses[0].ResponseParameters;
      assert.equal(p['method.response.header.Access-Control-Allow-Origin'], `'${ORIGIN}'`);
      assert.match(p['method.response.header.Access-Control-Allow-Headers'], /Authorization/);
    }
    for (const type of ['UNAUTHORIZED', 'ACCESS_DENIED']) {
      const g = Object.values(resources(template, 'AWS::ApiGateway::GatewayResponse')).find((x) => x.Properties.ResponseType === type)!;
      assert.equal(g.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin'], `'${ORIGIN}'`);
      assert.equal(g.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Expose-Headers'], "'WWW-Authenticate'");
      assert.equal(g.Properties.ResponseParameters['gatewayresponse.header.Vary'], "'Origin'");
      assert.match(g.Properties.ResponseParameters['gatewayresponse.header.WWW-Authenticate'], /^'Bearer /);
    }
    const pets = methods.find((m) => m.Properties.HttpMethod === 'POST')!;
    assert.equal(pets.Properties.Integration.IntegrationResponses[0].ResponseParameters['method.response.header.Access-Control-Allow-Origin'], `'${ORIGIN}'`);
    assert.equal(pets.Properties.MethodResponses[0].ResponseParameters['method.response.header.Access-Control-Allow-Origin'], true);
  });

  it('HTTP: API Gateway answers preflight for the origin and exposes WWW-Authenticate', () => {
    const { template } = synth({ corsOrigin: ORIGIN });
    const cors = Object.values(resources(template, 'AWS::ApiGatewayV2::Api'))[0].Properties.CorsConfiguration;
    assert.deepEqual(cors.AllowOrigins, [ORIGIN]);
    assert.deepEqual(cors.ExposeHeaders, ['www-authenticate']);
    assert.ok(cors.AllowHeaders.includes('authorization'));
  });

  it('refuses an origin with a path, or a list', () => {
    assert.throws(() => synth({ corsOrigin: 'https://app.example.com/x' }), /corsOrigin .*one origin/);
    assert.throws(() => synth({ corsOrigin: 'https://a.example.com,https://b.example.com' }), /corsOrigin/);
  });
});

describe('custom domain (domainName + certificateArn)', () => {
  const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000';

  it('maps every API under its name on one regional TLS 1.2 domain, after its stage', () => {
    const { template } = synth({ stage: 'prod', domainName: 'api.example.com', certificateArn: CERT });
    const domains = Object.entries(resources(template, 'AWS::ApiGatewayV2::DomainName'));
    assert.equal(domains.length, 1);
    const [domainId, domain] = domains[0];
    assert.equal(domain.Properties.DomainName, 'api.example.com');
    assert.deepEqual(domain.Properties.DomainNameConfigurations, [{ CertificateArn: CERT, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }]);
    const mappings = template.toJSON().Resources;
    const byKey = Object.fromEntries(
      Object.entries(resources(template, 'AWS::ApiGatewayV2::ApiMapping')).map(([id, m]) => [m.Properties.ApiMappingKey, { id, m }]),
    );
    assert.deepEqual(Object.keys(byKey).sort(), ['pet-store', 'solar-system']);
    const restId = Object.keys(resources(template, 'AWS::ApiGateway::RestApi'))[0];
    const restStageId = Object.keys(resources(template, 'AWS::ApiGateway::Stage'))[0];
    assert.deepEqual(byKey['pet-store'].m.Properties.ApiId, { Ref: restId });
    assert.deepEqual(byKey['pet-store'].m.Properties.DomainName, { Ref: domainId });
    const deps = mappings[byKey['pet-store'].id].DependsOn as string[];
    assert.ok(deps.includes(restStageId) && deps.includes(domainId), JSON.stringify(deps));
    const outputs = template.findOutputs('*');
    assert.equal(outputs.PetStoreCustomUrl.Value, 'https://api.example.com/pet-store/');
    assert.ok('CustomDomainTarget' in outputs);
  });

  it('needs both settings, valid', () => {
    assert.throws(() => synth({ domainName: 'api.example.com' }), /domainName and certificateArn go together/);
    assert.throws(() => synth({ domainName: 'API.example.com', certificateArn: CERT }), /not a lower-case DNS name/);
    assert.throws(() => synth({ domainName: 'api.example.com', certificateArn: 'arn:aws:iam::1:x' }), /not an ACM certificate ARN/);
  });
});

describe('mutual TLS on the custom domain (mtlsTruststoreUri, mtlsTruststoreVersion)', () => {
  const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0000-0000-0000-000000000000';
  const DOMAIN = { domainName: 'api.example.com', certificateArn: CERT };

  it('requires client certificates from the truststore on the domain and disables every default endpoint', () => {
    const { template } = synth({ ...DOMAIN, mtlsTruststoreUri: 's3://acme-truststore/authz/ca.pem', mtlsTruststoreVersion: 'v-42' });
    const domain = Object.values(resources(template, 'AWS::ApiGatewayV2::DomainName'))[0].Properties;
    assert.deepEqual(domain.MutualTlsAuthentication, { TruststoreUri: 's3://acme-truststore/authz/ca.pem', TruststoreVersion: 'v-42' });
    assert.deepEqual(domain.DomainNameConfigurations, [{ CertificateArn: CERT, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }]);
    const rest = Object.values(resources(template, 'AWS::ApiGateway::RestApi'));
    const http = Object.values(resources(template, 'AWS::ApiGatewayV2::Api'));
    assert.equal(rest.length + http.length, 2);
    for (const api of [...rest, ...http]) assert.equal(api.Properties.DisableExecuteApiEndpoint, true, JSON.stringify(api.Properties.Name));
    // The APIs answer on the domain only: their URL outputs say so.
    const outputs = template.findOutputs('*');
    assert.equal(outputs.PetStoreUrl.Value, 'https://api.example.com/pet-store/');
    assert.equal(outputs.SolarSystemUrl.Value, 'https://api.example.com/solar-system/');
  });

  it('without a version: the latest object; without mutual TLS the default endpoints stay', () => {
    const latest = synth({ ...DOMAIN, mtlsTruststoreUri: 's3://acme-truststore/ca.pem' }).template;
    const domain = Object.values(resources(latest, 'AWS::ApiGatewayV2::DomainName'))[0].Properties;
    assert.deepEqual(domain.MutualTlsAuthentication, { TruststoreUri: 's3://acme-truststore/ca.pem' });
    const plain = synth(DOMAIN).template;
    assert.equal(Object.values(resources(plain, 'AWS::ApiGatewayV2::DomainName'))[0].Properties.MutualTlsAuthentication, undefined);
    for (const type of ['AWS::ApiGateway::RestApi', 'AWS::ApiGatewayV2::Api']) {
      for (const api of Object.values(resources(plain, type))) assert.equal(api.Properties.DisableExecuteApiEndpoint, undefined);
    }
  });

  it('needs the custom domain and an s3:// URI; a version needs the URI', () => {
    assert.throws(() => synth({ mtlsTruststoreUri: 's3://acme-truststore/ca.pem' }), /mtlsTruststoreUri needs domainName and certificateArn/);
    assert.throws(() => synth({ ...DOMAIN, mtlsTruststoreVersion: 'v1' }), /mtlsTruststoreVersion needs mtlsTruststoreUri/);
    assert.throws(() => synth({ ...DOMAIN, mtlsTruststoreUri: 'https://acme-truststore.s3.amazonaws.com/ca.pem' }), /mtlsTruststoreUri "https:.*" is not s3:\/\/bucket\/key/);
    assert.throws(() => synth({ ...DOMAIN, mtlsTruststoreUri: 's3://acme-truststore' }), /is not s3:\/\/bucket\/key/);
  });
});
