'use strict';
// The Node twin of authz-testkit-echo: answers its event unchanged. Measures what bootstrap.js
// and the Node runtime cost per invocation before any authorizer work.
exports.handler = async (event) => event;
