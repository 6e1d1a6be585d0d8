/**
 * The environment of each Lambda authorizer, generated from the typed settings and the route
 * table: the `AUTHZ_*` variables of config.ts's GENERATED_VARIABLES (and, with the stack's own
 * user pool, USER_POOL_VARIABLES), over the operator's `extraEnvironment`.
 */
import { cedarEnvironment } from './cedar';
import { type AuthzStackConfig, ConfigError } from './config';
import { type ApiSpec, type LambdaAuthorizerType, authzRoutesFor } from './route-table';

/** Who issues the tokens one API's authorizers accept. */
export type TokenIdentity =
  | { readonly kind: 'external'; readonly issuer: string; readonly audience: string }
  | { readonly kind: 'pool'; readonly issuer: string; readonly clientIds: readonly string[] };

/** Lambda's limit on the total size of a function's environment variables. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;

/**
 * The variables of one authorizer (`type`) of one API; AUTHZ_ALLOWED_API_ARNS (REST) is added
 * once the API exists. `replayTableName`: the stage's DPoP replay table, for an API with
 * sender-constrained tokens. Throws a ConfigError when the result would exceed Lambda's 4 KB.
 */
export function environmentFor(
  c: AuthzStackConfig,
  api: ApiSpec,
  type: LambdaAuthorizerType,
  identity: TokenIdentity,
  replayTableName?: string,
): Record<string, string> {
  const a = c.authorizers;
  const env: Record<string, string> = {
    ...(a.extraEnvironment ?? {}),
    AUTHZ_ISSUER: identity.issuer,
    AUTHZ_ROUTES: authzRoutesFor(api, type),
  };
  // Cognito access tokens have no `aud`: the app clients are matched against `client_id`.
  if (identity.kind === 'pool') env.AUTHZ_CLIENT_ID = identity.clientIds.join(',');
  else env.AUTHZ_AUDIENCE = identity.audience;
  if (a.algorithms?.length) env.AUTHZ_ALGORITHMS = a.algorithms.join(',');
  if (a.contextClaims?.length) env.AUTHZ_CONTEXT_CLAIMS = a.contextClaims.join(',');
  if (a.jwksUri) env.AUTHZ_JWKS_URI = a.jwksUri;
  if (a.introspectionSecretArn) env.AUTHZ_INTROSPECTION_SECRET_ARN = a.introspectionSecretArn;
  if (type === 'request' && a.tokenQueryParam) env.AUTHZ_TOKEN_QUERY_PARAM = a.tokenQueryParam;
  if (c.usagePlan && api.type === 'rest') env.AUTHZ_USAGE_IDENTIFIER_CLAIM = c.usagePlan.claim;
  // routes.json's senderConstrained, `off` too: then a configuration that would turn it on
  // elsewhere (AUTHZ_PROFILE=fapi2, the AUTHZ_CONFIG document's key) is refused by the
  // authorizers' own reader at synth, instead of running without its replay table and challenge.
  env.AUTHZ_SENDER_CONSTRAINED = api.senderConstrained;
  // The stage's DPoP replay table (a token here: its name is known at deploy time).
  if (replayTableName !== undefined) env.AUTHZ_DPOP_REPLAY_TABLE = replayTableName;
  // The API's Cedar files as the function sees them (bundled into its asset), if it decides with Cedar.
  Object.assign(env, cedarEnvironment(api, type, 'inFunction'));
  // Lambda refuses more than 4 KB of variables; the API ARN added later is ~100 bytes, the
  // CA bundle path ~45; the pool's issuer and client ids are tokens here (~80 and ~27 each).
  // The replay table's name is a token too (a generated one, ~60).
  const later =
    160 + (a.caBundle ? 45 : 0) + (identity.kind === 'pool' ? 80 + 27 * identity.clientIds.length : 0) + (replayTableName !== undefined ? 60 : 0);
  const size = Object.entries(env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0) + later;
  if (size > LAMBDA_ENV_LIMIT_BYTES) {
    throw new ConfigError(
      `${api.name} ${type} authorizer: its environment (AUTHZ_ROUTES from routes.json and the settings) is about ${size} bytes; Lambda allows ${LAMBDA_ENV_LIMIT_BYTES}`,
    );
  }
  return env;
}
