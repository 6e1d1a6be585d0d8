'use strict';
// Peer: awslabs aws-jwt-verify as a REST TOKEN or REQUEST, or HTTP API (simple response) authorizer
// (AUTHORIZER_TYPE, see authorizer-common.js). Issuer and audience checked (both
// mandatory in aws-jwt-verify), JWKS fetched once at cold start with hydrate().
//
// aws-jwt-verify's default fetcher speaks HTTPS only (it calls `https.request`). Against the
// HTTPS issuer (`authz-bench lambda`; the private CA trusted through NODE_EXTRA_CA_CERTS) it is
// used as is. The CPU benchmark's issuer is plain HTTP on 127.0.0.1, so there, as its README
// documents ("Using a different Fetcher with SimpleJwksCache"), the JWKS cache gets a fetcher over
// `node:http`; everything else (penalty box, JWKS parsing, key selection, signature and claim
// checks) is the library's own.

const http = require('node:http');
const { JwtVerifier } = require('aws-jwt-verify');
const { SimpleJwksCache } = require('aws-jwt-verify/jwk');
const { authorizerHandler, requiredEnv } = require('./authorizer-common');

class HttpFetcher {
  // Same budget as aws-jwt-verify's default: 3 s for the response.
  fetch(uri) {
    return new Promise((resolve, reject) => {
      const req = http.get(uri, { timeout: 3000 }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`JWKS ${uri}: status ${res.statusCode}`));
            return;
          }
          const buf = Buffer.concat(chunks);
          resolve(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`JWKS ${uri}: timeout`)));
      req.on('error', reject);
    });
  }
}

const jwksUri = requiredEnv('JWKS_URI');
const verifier = JwtVerifier.create(
  { issuer: requiredEnv('ISSUER'), audience: requiredEnv('AUDIENCE'), jwksUri },
  jwksUri.startsWith('https://') ? undefined : { jwksCache: new SimpleJwksCache({ fetcher: new HttpFetcher() }) },
);

exports.init = () => verifier.hydrate();

exports.handler = authorizerHandler(async (token) => {
  const payload = await verifier.verify(token);
  // Only for the decision log line (our authorizer logs the kid too); the token is verified above.
  const kid = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString()).kid;
  return { payload, kid };
});
