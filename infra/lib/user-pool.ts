/**
 * The stage's own identity provider, for a deployment without `-c issuer`: one Amazon Cognito
 * user pool with a resource server per API of the route table, an app client per tier (OAuth 2.0
 * client credentials, generated secret) and a Cognito domain for the token endpoint.
 *
 * Cognito names a custom scope `<resource-server-id>/<scope>` and puts the app client in
 * `client_id` of its access tokens (there is no `aud`). The route table stays the one source:
 * {@link withCognitoScopes} derives the scope names every authorizer checks (`AUTHZ_ROUTES`, the
 * native JWT authorizer's `authorizationScopes`) from the table's, and {@link StageUserPool.clientIdsOf}
 * gives what the authorizers match the token's client against (`AUTHZ_CLIENT_ID`, the JWT
 * authorizer's audience).
 */
import { Aws, CfnOutput, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { type ApiSpec, type RouteTable, pascalCase, poolTiers } from './route-table';
import { TOKEN_ENDPOINT_OUTPUT, USER_POOL_ID_OUTPUT, clientIdOutputName } from './smoke';

/** Cognito's rule for a custom scope name (`ResourceServerScopeType.ScopeName`): no space, `"`, `/` or `\`. */
const COGNITO_SCOPE_NAME = /^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$/;

/** Words Cognito refuses in a domain prefix. */
const DOMAIN_PREFIX_FORBIDDEN = ['aws', 'amazon', 'cognito'];

/** The resource server of an API: its identifier is the API's name in the route table. */
export function resourceServerId(api: ApiSpec): string {
  return api.name;
}

/** The Cognito name of one of an API's scopes: `pet-store` + `read` → `pet-store/read`. */
export function cognitoScope(api: ApiSpec, scope: string): string {
  return `${resourceServerId(api)}/${scope}`;
}

/** Every scope an API's resource server defines: the scopes of its routes and of its tiers, sorted. */
export function resourceServerScopes(api: ApiSpec): string[] {
  const all = new Set<string>();
  for (const r of api.routes) for (const s of r.scopes) all.add(s);
  for (const t of Object.values(api.tiers)) for (const s of t.scopes) all.add(s);
  return [...all].sort();
}

/**
 * The API as the stack's own pool's tokens see it: every route and tier scope renamed with
 * {@link cognitoScope}. Routes, authorizers, claims and tiers are otherwise the table's.
 */
export function withCognitoScopes(api: ApiSpec): ApiSpec {
  const rename = (scopes: readonly string[]) => scopes.map((s) => cognitoScope(api, s));
  return {
    ...api,
    routes: api.routes.map((r) => ({ ...r, scopes: rename(r.scopes) })),
    tiers: Object.fromEntries(Object.entries(api.tiers).map(([name, t]) => [name, { ...t, scopes: rename(t.scopes) }])),
  };
}

/**
 * What keeps the route table from being served by the stack's own pool, one line per problem
 * (empty: it fits). A client-credentials token from Cognito carries scopes only, so every tier
 * it issues ({@link poolTiers}) needs at least one scope and no claims; scope names must be
 * Cognito scope names.
 */
export function userPoolProblems(table: RouteTable): string[] {
  const problems: string[] = [];
  for (const api of table.apis) {
    for (const s of resourceServerScopes(api)) {
      if (!COGNITO_SCOPE_NAME.test(s)) problems.push(`apis.${api.name}: scope "${s}" is not a Cognito scope name (no "/", "\\", '"' or space)`);
    }
    for (const [tier, t] of poolTiers(api)) {
      if (t.scopes.length === 0) {
        problems.push(`apis.${api.name}.tiers.${tier}: no scopes; a Cognito client-credentials client needs at least one`);
      }
      if (Object.keys(t.claims).length > 0) {
        problems.push(
          `apis.${api.name}.tiers.${tier}: claims (${Object.keys(t.claims).join(', ')}) cannot be issued by the stack's Cognito pool (client-credentials tokens carry scopes only)`,
        );
      }
    }
  }
  return problems;
}

/**
 * A problem with the domain prefix `<app>-<stage>-…` Cognito would refuse, or undefined. The
 * generated part (the stack id's first UUID group: hex digits) cannot add a forbidden word.
 */
export function domainPrefixProblem(namePrefix: string): string | undefined {
  const p = namePrefix.toLowerCase();
  const word = DOMAIN_PREFIX_FORBIDDEN.find((w) => p.includes(w));
  return word === undefined ? undefined : `the Cognito domain prefix "${p}-…" may not contain "${word}"`;
}

/** Properties of {@link StageUserPool}. */
export interface StageUserPoolProps {
  /** The APIs (route table order): one resource server each, one app client per tier. */
  readonly apis: readonly ApiSpec[];
  /** `<app>-<stage>`: the pool, client and domain names start with it. */
  readonly namePrefix: string;
  /** DESTROY for a non-production stage (the pool goes with the stack); RETAIN keeps it. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The stage's Cognito user pool for machine clients (no users, no sign-up): resource servers
 * with the route table's scopes, one client-credentials app client per tier, a Cognito domain,
 * and outputs naming the pool, the token endpoint and every client id.
 */
export class StageUserPool extends Construct {
  readonly userPool: cognito.UserPool;
  readonly domain: cognito.UserPoolDomain;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: `iss` of the pool's tokens. */
  readonly issuer: string;
  /** `https://<prefix>.auth.<region>.amazoncognito.com/oauth2/token`. */
  readonly tokenEndpoint: string;
  readonly resourceServers: Readonly<Record<string, cognito.UserPoolResourceServer>>;
  /** App clients by API name and tier name. */
  readonly clients: Readonly<Record<string, Readonly<Record<string, cognito.UserPoolClient>>>>;

  constructor(scope: Construct, id: string, props: StageUserPoolProps) {
    super(scope, id);
    const problems = userPoolProblems({ apis: props.apis });
    const prefixProblem = domainPrefixProblem(props.namePrefix);
    if (prefixProblem) problems.push(`${prefixProblem}: choose another appName or stage, or give -c issuer`);
    if (problems.length > 0) {
      throw new Error(`no -c issuer: the stack's own Cognito user pool cannot serve this route table:\n  - ${problems.join('\n  - ')}`);
    }
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;

    this.userPool = new cognito.UserPool(this, 'Pool', {
      userPoolName: props.namePrefix,
      // Machine clients only: nobody signs up or in; an administrator could create users, and
      // then these rules apply to them.
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.NONE,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: retain,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        "The pool serves machine clients only (OAuth client credentials, no users); the Plus plan's threat protection evaluates user sign-ins, which never happen here, and would add a per-user charge for nothing.",
    });

    // The prefix must be unique in the region across all accounts: the stack id's UUID makes it so.
    const stackUuidHead = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: `${props.namePrefix.toLowerCase()}-${stackUuidHead}` },
    });
    this.issuer = this.userPool.userPoolProviderUrl;
    this.tokenEndpoint = `${this.domain.baseUrl()}/oauth2/token`;

    const servers: Record<string, cognito.UserPoolResourceServer> = {};
    const clients: Record<string, Record<string, cognito.UserPoolClient>> = {};
    for (const api of props.apis) {
      const Id = pascalCase(api.name);
      const server = this.userPool.addResourceServer(`${Id}ResourceServer`, {
        identifier: resourceServerId(api),
        userPoolResourceServerName: `${props.namePrefix}-${api.name}`,
        scopes: resourceServerScopes(api).map((s) => new cognito.ResourceServerScope({ scopeName: s, scopeDescription: `${api.name} scope ${s}` })),
      });
      servers[api.name] = server;
      clients[api.name] = {};
      for (const [tier, t] of poolTiers(api)) {
        const client = this.userPool.addClient(`${Id}${pascalCase(tier)}Client`, {
          userPoolClientName: `${props.namePrefix}-${api.name}-${tier}`,
          generateSecret: true,
          // Only the refresh-token flow stays listed (CDK's minimum); client credentials issue none.
          authFlows: { userSrp: false },
          oAuth: {
            flows: { clientCredentials: true },
            scopes: t.scopes.map((s) => cognito.OAuthScope.custom(cognitoScope(api, s))),
          },
          preventUserExistenceErrors: true,
          enableTokenRevocation: true,
        });
        // The scopes must exist before a client may be granted them.
        client.node.addDependency(server);
        clients[api.name][tier] = client;
        new CfnOutput(scope, clientIdOutputName(api.name, tier), {
          value: client.userPoolClientId,
          description: `App client id of the ${api.name} tier ${tier} (scopes ${t.scopes.map((s) => cognitoScope(api, s)).join(' ')}); its secret: aws cognito-idp describe-user-pool-client`,
        });
      }
    }
    this.resourceServers = servers;
    this.clients = clients;

    new CfnOutput(scope, USER_POOL_ID_OUTPUT, { value: this.userPool.userPoolId, description: 'The stage\'s Cognito user pool (the authorizers\' issuer)' });
    new CfnOutput(scope, TOKEN_ENDPOINT_OUTPUT, { value: this.tokenEndpoint, description: 'OAuth 2.0 token endpoint (client_credentials grant)' });
  }

  /** The app client ids of an API's tiers: `AUTHZ_CLIENT_ID` and the JWT authorizer's audience. */
  clientIdsOf(apiName: string): string[] {
    return Object.values(this.clients[apiName] ?? {}).map((c) => c.userPoolClientId);
  }
}

