'use strict';
// A minimal Lambda Runtime API client in plain Node, shaped like the official Node.js runtime's
// loop: one keep-alive connection to AWS_LAMBDA_RUNTIME_API, `GET /invocation/next`, run the
// handler, `POST /invocation/{id}/response` or `/error`. Init failures go to `/init/error`.
//
// Usage: HANDLER=<module file in this folder> node bootstrap.js
// The handler module exports `handler(event)` (async) and optionally `init()` (async), which runs
// before the first poll: that is the cold-start work (e.g. fetching the JWKS).
//
// Bench-only code: never deployed.

const http = require('node:http');
const path = require('node:path');

const api = process.env.AWS_LAMBDA_RUNTIME_API;
if (!api) {
  console.error('AWS_LAMBDA_RUNTIME_API is not set');
  process.exit(1);
}
const [hostname, port] = api.split(':');
const BASE = '/2018-06-01/runtime';
// One socket kept for the process's life, Nagle off (Node's default, made explicit).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, noDelay: true });

function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, path: BASE + urlPath, method, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) {
      req.setHeader('content-type', 'application/json');
      req.setHeader('content-length', Buffer.byteLength(body));
      req.end(body);
    } else {
      req.end();
    }
  });
}

function errorBody(err) {
  return JSON.stringify({
    errorType: (err && err.name) || 'Error',
    errorMessage: (err && err.message) || String(err),
  });
}

async function postError(urlPath, err) {
  const type = (err && err.name) || 'Error';
  await request('POST', urlPath, errorBody(err), { 'lambda-runtime-function-error-type': type });
}

async function main() {
  let mod;
  try {
    const handlerFile = process.env.HANDLER;
    if (!handlerFile) throw new Error('HANDLER is not set');
    mod = require(path.resolve(__dirname, handlerFile));
    if (typeof mod.init === 'function') await mod.init();
  } catch (err) {
    console.error(JSON.stringify({ level: 'ERROR', message: 'init failed', error: String(err) }));
    await postError('/init/error', err).catch(() => {});
    process.exit(1);
  }
  const handler = mod.handler;
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`/invocation/next answered ${next.status}`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    const context = {
      awsRequestId: id,
      deadlineMs: Number(next.headers['lambda-runtime-deadline-ms']),
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
    };
    let result;
    let failed = null;
    try {
      result = await handler(JSON.parse(next.body.toString('utf8')), context);
    } catch (err) {
      failed = err;
    }
    if (failed) {
      await postError(`/invocation/${id}/error`, failed);
    } else {
      await request('POST', `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    }
  }
}

main().catch((err) => {
  console.error(JSON.stringify({ level: 'ERROR', message: 'runtime loop failed', error: String(err) }));
  process.exit(1);
});
