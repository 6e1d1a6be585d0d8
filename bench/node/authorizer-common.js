'use strict';
// What both Node peers share: the REST TOKEN event handling around the JWT check, doing the same
// job as our token-authorizer: `Bearer` scheme, methodArn parsing, one JSON decision line per
// request on stdout, an Allow policy for every method of the stage, or the error `Unauthorized`.

const ARN_RE = /^(arn:[A-Za-z0-9_-]+:execute-api:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+):([A-Za-z0-9_-]+)\/([^/*]+)\/([^/]+)(?:\/(.*))?$/;

function parseArn(arn) {
  const m = typeof arn === 'string' && arn.length <= 1600 ? ARN_RE.exec(arn) : null;
  if (!m) throw new Error('methodArn is not an execute-api method ARN');
  const [, prefix, apiId, stage, verb, resource = ''] = m;
  return { stageWildcard: `${prefix}:${apiId}/${stage}/*`, route: `${verb} /${resource}` };
}

function logDecision(decision, reason, started, fields) {
  const latency_us = Number((process.hrtime.bigint() - started) / 1000n);
  console.log(JSON.stringify({ level: 'INFO', message: 'authorization decision', decision, reason, ...fields, latency_us }));
}

/**
 * Builds a TOKEN-authorizer handler around `verify(token) -> Promise<{payload, kid}>`, which must
 * throw when the token is not valid.
 */
function tokenHandler(verify) {
  return async function handler(event) {
    const started = process.hrtime.bigint();
    const arn = parseArn(event.methodArn);
    const auth = event.authorizationToken;
    if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) {
      logDecision('unauthorized', 'bad_scheme', started, { route: arn.route });
      throw new Error('Unauthorized');
    }
    let verified;
    try {
      verified = await verify(auth.slice(7).trim());
    } catch (err) {
      logDecision('unauthorized', (err && err.name) || 'invalid', started, { route: arn.route });
      throw new Error('Unauthorized');
    }
    const { payload, kid } = verified;
    logDecision('allow', 'ok', started, { kid, iss: payload.iss, sub: payload.sub, route: arn.route });
    const context = { iss: payload.iss };
    if (payload.sub !== undefined) context.sub = payload.sub;
    if (payload.scope !== undefined) context.scope = payload.scope;
    return {
      principalId: payload.sub,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: ['execute-api:Invoke'], Effect: 'Allow', Resource: [arn.stageWildcard] }],
      },
      context,
    };
  };
}

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

module.exports = { tokenHandler, requiredEnv };
