'use strict';
// What the Node peers share: the API Gateway event handling around the JWT check, doing the same
// job as our authorizers, one shape per binary:
//   TOKEN   (token-authorizer):   `authorizationToken`, methodArn → IAM policy or `Unauthorized`;
//   REQUEST (request-authorizer): the `Authorization` header (multiValueHeaders / headers, any
//                                 case, exactly one value), methodArn → IAM policy or `Unauthorized`;
//   HTTP    (http-authorizer):    payload 2.0, the `authorization` header → simple response
//                                 `{isAuthorized, context}` (a bad token: `isAuthorized: false`).
// Each logs one JSON decision line per request on stdout and allows every method of the stage.

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
 * The value of header `name` (lower-case), any case: from `multi` (name → values) when it has the
 * header, else from `single` (name → value); undefined unless there is exactly one value.
 */
function headerValue(multi, single, name) {
  const key = (obj) => (obj ? Object.keys(obj).find((k) => k.toLowerCase() === name) : undefined);
  const mk = key(multi);
  if (mk !== undefined) return Array.isArray(multi[mk]) && multi[mk].length === 1 ? multi[mk][0] : undefined;
  const sk = key(single);
  return sk === undefined ? undefined : single[sk];
}

/**
 * Runs `verify` on the `Bearer` credential `auth`; returns the claims and logs an allow, or logs
 * why not and returns null.
 */
async function check(verify, auth, started, route) {
  if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) {
    logDecision('unauthorized', 'bad_scheme', started, { route });
    return null;
  }
  let verified;
  try {
    verified = await verify(auth.slice(7).trim());
  } catch (err) {
    logDecision('unauthorized', (err && err.name) || 'invalid', started, { route });
    return null;
  }
  const { payload, kid } = verified;
  logDecision('allow', 'ok', started, { kid, iss: payload.iss, sub: payload.sub, route });
  return payload;
}

function context(payload) {
  const ctx = { iss: payload.iss };
  if (payload.sub !== undefined) ctx.sub = payload.sub;
  if (payload.scope !== undefined) ctx.scope = payload.scope;
  return ctx;
}

/** A REST answer (TOKEN and REQUEST): the stage policy, or the error `Unauthorized` (401). */
async function restAnswer(verify, auth, methodArn, started) {
  const arn = parseArn(methodArn);
  const payload = await check(verify, auth, started, arn.route);
  if (!payload) throw new Error('Unauthorized');
  return {
    principalId: payload.sub,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: ['execute-api:Invoke'], Effect: 'Allow', Resource: [arn.stageWildcard] }],
    },
    context: context(payload),
  };
}

const SHAPES = {
  TOKEN: (verify) => (event, started) => restAnswer(verify, event.authorizationToken, event.methodArn, started),
  REQUEST: (verify) => (event, started) =>
    restAnswer(verify, headerValue(event.multiValueHeaders, event.headers, 'authorization'), event.methodArn, started),
  HTTP: (verify) => async (event, started) => {
    const payload = await check(verify, headerValue(null, event.headers, 'authorization'), started, event.routeKey);
    return payload ? { isAuthorized: true, context: context(payload) } : { isAuthorized: false, context: {} };
  },
};

/**
 * Builds the handler for the authorizer type in `AUTHORIZER_TYPE` (TOKEN, the default; REQUEST;
 * HTTP) around `verify(token) -> Promise<{payload, kid}>`, which must throw when the token is not
 * valid.
 */
function authorizerHandler(verify) {
  const type = process.env.AUTHORIZER_TYPE || 'TOKEN';
  const shape = SHAPES[type];
  if (!shape) throw new Error(`AUTHORIZER_TYPE ${type} is not TOKEN, REQUEST or HTTP`);
  const answer = shape(verify);
  return async function handler(event) {
    return answer(event, process.hrtime.bigint());
  };
}

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

module.exports = { authorizerHandler, requiredEnv };
