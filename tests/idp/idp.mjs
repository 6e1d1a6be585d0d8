// A real OpenID provider (npm `oidc-provider`) on 127.0.0.1 for the authorizer tests.
//
// Environment:
//   PORT         port to listen on, on 127.0.0.1 only (0 or unset = ephemeral)
//   IDP_CONFIG   JSON: {
//                  "clients": [{"client_id", "client_secret",
//                               "token_endpoint_auth_method": "client_secret_basic"|"client_secret_post",
//                               "grant_types": ["client_credentials"], "scope": "read write ...",
//                               "certificate_bound": false (true: RFC 8705 certificate-bound tokens)}],
//                  "access_token_format": "opaque" (default) | "jwt",
//                  "access_token_ttl": 300,
//                  "audience": optional, same as IDP_AUDIENCE (the variable wins)
//                }
//   IDP_AUDIENCE the `aud` of every access token (required for "jwt")
//   IDP_KEY_FILE optional: where the private signing JWK is kept across restarts (see below)
//
// When listening it prints ONE line to stdout:
//   {"ready":true,"issuer":"http://127.0.0.1:PORT","port":PORT}
// then one JSON line per request ({"method","path","status"}) and per provider error.
// It exits when its standard input closes: the test that started it holds the other end of the
// pipe, so the provider ends with it, however that ends (even SIGKILL).
//
// Features: client credentials grant, introspection (/token/introspection; any registered client
// may introspect any token, authenticated with its own token_endpoint_auth_method), revocation
// (/token/revocation; a client may only revoke its own tokens). devInteractions off. Storage is
// oidc-provider's in-memory adapter: a restart forgets every token.
//
// Sender-constrained tokens (tokens bound to nothing unless the client asks, as before):
// - DPoP (RFC 9449, oidc-provider's `features.dPoP`): a token request with a `DPoP` proof header
//   gets a DPoP-bound token (`token_type` DPoP, `cnf.jkt` in a JWT and in the introspection
//   answer). No server nonces; proofs ES256, Ed25519 or EdDSA (oidc-provider's defaults).
// - Certificate-bound (RFC 8705, `features.mTLS.certificateBoundAccessTokens`): a client with
//   "certificate_bound": true gets tokens bound (`cnf.x5t#S256`) to the client certificate of its
//   token request, and a token request without one is refused (invalid_grant). This server
//   speaks plain HTTP on loopback, so the certificate arrives the way a TLS-terminating proxy
//   passes it on: the RFC 9440 `Client-Cert` header (`:base64(DER):`). oidc-provider computes
//   the thumbprint itself from that certificate.
//
// Why every token goes through a resource server (RFC 8707 resource indicator, defaulted here so
// clients need not send `resource`): without one, oidc-provider 9 drops every non-OpenID scope
// (`read`, `write`, ...) from client-credentials tokens, and it can only issue JWT access tokens
// for a resource server with an audience. The resource identifier is IDP_AUDIENCE when that is an
// absolute URI, `urn:authz-test:api` otherwise; the token's `aud` is IDP_AUDIENCE if set, else
// that identifier.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

function fail(message) {
  process.stderr.write(`idp.mjs: ${message}\n`);
  process.exit(2);
}

let config;
try {
  config = JSON.parse(process.env.IDP_CONFIG || '{}');
} catch (err) {
  fail(`IDP_CONFIG is not JSON: ${err.message}`);
}

const format = config.access_token_format ?? 'opaque';
if (!['opaque', 'jwt'].includes(format)) fail(`access_token_format must be "opaque" or "jwt", not ${JSON.stringify(format)}`);
const ttl = Number(config.access_token_ttl ?? 300);
if (!Number.isInteger(ttl) || ttl <= 0) fail('access_token_ttl must be a positive integer (seconds)');
const audience = process.env.IDP_AUDIENCE || config.audience || undefined;
if (format === 'jwt' && !audience) fail('access_token_format "jwt" needs an audience (IDP_AUDIENCE)');
const isAbsoluteUri = (s) => { try { return Boolean(new URL(s).protocol); } catch { return false; } };
const resource = audience && isAbsoluteUri(audience) ? audience : 'urn:authz-test:api';

const clients = (config.clients ?? []).map((c) => {
  if (!c.client_id || !c.client_secret) fail('every client needs client_id and client_secret');
  const method = c.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!['client_secret_basic', 'client_secret_post'].includes(method)) fail(`unsupported token_endpoint_auth_method ${method}`);
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    token_endpoint_auth_method: method,
    grant_types: c.grant_types ?? ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    // No `scope` (oidc-provider refuses an empty one): the client may ask for any scope.
    ...(c.scope ? { scope: c.scope } : {}),
    ...(c.certificate_bound ? { tls_client_certificate_bound_access_tokens: true } : {}),
  };
});
// Every scope any client may get: the provider and the resource server both know them all, so a
// client asking for a scope outside its own `scope` gets invalid_scope.
const scopes = [...new Set(clients.flatMap((c) => (c.scope ?? '').split(' ')).filter(Boolean))];

// The RS256 signing key (JWT access tokens, discovery's jwks_uri): generated at start, or read
// from IDP_KEY_FILE when that file exists (written there after generating it), so a provider
// restarted on the same port keeps its key.
function signingKey() {
  const file = process.env.IDP_KEY_FILE;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `idp-${Date.now().toString(36)}`, alg: 'RS256', use: 'sig' };
  if (file) writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}
const key = signingKey();

const log = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// The client certificate of a request: the RFC 9440 `Client-Cert` header, a structured-field byte
// sequence `:base64(DER):` (see the header comment). Absent or not a certificate: none.
function clientCertificate(ctx) {
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(ctx.get('client-cert').trim());
  if (!match) return undefined;
  try {
    return new X509Certificate(Buffer.from(match[1], 'base64'));
  } catch {
    return undefined;
  }
}

const server = createServer();
server.on('error', (err) => fail(`cannot listen: ${err.message}`));
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [key] },
    scopes: ['openid', ...scopes],
    // Fixed, non-secret cookie keys: no cookies are used by these grants, this only silences a warning.
    cookies: { keys: ['authz-test-idp-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async () => true,
      },
      revocation: { enabled: true },
      dPoP: { enabled: true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: clientCertificate,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: scopes.join(' '),
            audience,
            accessTokenTTL: ttl,
            accessTokenFormat: format,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
    },
    // No user-facing flows: nothing to render, answer errors as JSON.
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  provider.on('server_error', (_ctx, err) => log({ event: 'server_error', error: String(err?.stack ?? err) }));
  provider.on('grant.error', (_ctx, err) => log({ event: 'grant.error', error: err.message, description: err.error_description }));
  provider.on('introspection.error', (_ctx, err) => log({ event: 'introspection.error', error: err.message, description: err.error_description }));
  provider.on('revocation.error', (_ctx, err) => log({ event: 'revocation.error', error: err.message, description: err.error_description }));

  const callback = provider.callback();
  server.on('request', (req, res) => {
    res.on('finish', () => log({ method: req.method, path: req.url.split('?')[0], status: res.statusCode }));
    callback(req, res);
  });

  // oidc-provider validates static clients lazily, on first use: check them all now, so a bad
  // client (e.g. a secret with characters outside %x20-7E) fails the start, not some later call.
  Promise.all(clients.map(async ({ client_id: id }) => {
    try {
      if (!await provider.Client.find(id)) throw new Error('not found');
    } catch (err) {
      throw new Error(`client ${JSON.stringify(id)}: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}`);
    }
  })).then(
    () => log({ ready: true, issuer, port }),
    (err) => fail(err.message),
  );
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
