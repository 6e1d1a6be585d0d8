/** Test helpers: the app as `cdk synth` defines it, with bundling skipped. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineApp } from '../bin/app';
import type { AuthzStack } from '../lib/authz-stack';
import { type RouteTable, parseRouteTable } from '../lib/route-table';

export const ISSUER = 'https://idp.example.com';

/** cdk.json's context (the feature flags): what `cdk synth` gives the app, so the tests see it too. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'),
).context;

/** Context every test app gets: cdk.json's, bundling skipped (no cargo build in unit tests). */
export const BASE_CONTEXT = {
  ...CDK_JSON_CONTEXT,
  'aws:cdk:bundling-stacks': [],
  issuer: ISSUER,
} as const;

export interface Synth {
  readonly app: App;
  readonly stack: AuthzStack;
  readonly template: Template;
}

/** Defines the app with extra context (and optionally another route table) and synthesizes it. */
export function synth(context: Record<string, unknown> = {}, routeTable?: RouteTable): Synth {
  const app = new App({ context: { ...BASE_CONTEXT, ...context } });
  const stack = defineApp(app, { routeTable });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A route table document (the schema's shape) → validated table. */
export function table(doc: unknown): RouteTable {
  return parseRouteTable(doc, 'test-table');
}

/** Like {@link synth}, with no issuer in the context: the stack makes its own Cognito user pool. */
export function synthWithoutIssuer(context: Record<string, unknown> = {}, routeTable?: RouteTable): Synth {
  const { issuer: _external, ...base } = BASE_CONTEXT;
  const app = new App({ context: { ...base, ...context } });
  const stack = defineApp(app, { routeTable });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The resources of a type, by logical id. */
export function resources(template: Template, type: string): Record<string, { Properties: Record<string, any> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, any> }>;
}

/** The one resource of `type` whose properties match `pred`. */
export function only(
  template: Template,
  type: string,
  pred: (props: Record<string, any>) => boolean,
): { id: string; props: Record<string, any> } {
  const found = Object.entries(resources(template, type)).filter(([, r]) => pred(r.Properties ?? {}));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return { id: found[0][0], props: found[0][1].Properties };
}
