'use strict';
// Peer: auth0 jsonwebtoken + jwks-rsa, the common Node pairing, as a REST TOKEN authorizer (or
// REQUEST or HTTP: AUTHORIZER_TYPE, see authorizer-common.js).
// Issuer, audience and algorithms are pinned in jwt.verify(); the key is looked up by `kid` in
// jwks-rsa's cache (default: cache on, 5 keys, 10 min). jwks-rsa has no hydrate(): init lists the
// JWKS and loads each key into the per-kid cache, so the cold start includes the fetch like the
// other two (this costs 1 + number-of-keys fetches, 2 here, all on loopback).

const jwt = require('jsonwebtoken');
const { JwksClient } = require('jwks-rsa');
const { authorizerHandler, requiredEnv } = require('./authorizer-common');

const issuer = requiredEnv('ISSUER');
const audience = requiredEnv('AUDIENCE');
const client = new JwksClient({ jwksUri: requiredEnv('JWKS_URI'), cache: true, rateLimit: true, jwksRequestsPerMinute: 6, timeout: 3000 });
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

exports.init = async () => {
  for (const key of await client.getSigningKeys()) await client.getSigningKey(key.kid);
};

exports.handler = authorizerHandler(async (token) => {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.header.kid !== 'string') throw new Error('malformed');
  const key = await client.getSigningKey(decoded.header.kid);
  const payload = jwt.verify(token, key.getPublicKey(), { algorithms: ALGORITHMS, issuer, audience });
  return { payload, kid: decoded.header.kid };
});
