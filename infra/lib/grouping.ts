/**
 * Constructs that only group resources, left out of their children's CloudFormation logical ids.
 *
 * A logical id is derived from the construct path below the stack. Moving a resource into a new
 * construct would change it, and CloudFormation would replace the resource: for a named one (an
 * alarm, an API mapping) the new copy collides with the old name, and an output's key (what
 * scripts read) would change. A grouping construct marked here is skipped when its children's
 * ids are computed, so `AuthzStack` could split its monitoring and custom domain into their own
 * constructs without changing any logical id (the same rule CDK applies to an id `Default`).
 */
import { type CfnElement, Names, Stack } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

const GROUPING = Symbol.for('authz-infra.grouping-construct');

/** A construct that only groups: its id takes no part in its children's logical ids. */
export class GroupingConstruct extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    Object.defineProperty(this, GROUPING, { value: true });
  }
}

function isGrouping(c: IConstruct): boolean {
  return (c as unknown as Record<symbol, unknown>)[GROUPING] === true;
}

/**
 * The logical id of `element` with grouping constructs left out of its path, or undefined when
 * its path holds none (then the stack's own scheme applies unchanged).
 */
export function logicalIdWithoutGrouping(element: CfnElement): string | undefined {
  const scopes = element.node.scopes;
  const below = scopes.slice(scopes.indexOf(Stack.of(element)) + 1);
  if (!below.some(isGrouping)) return undefined;
  // The stack's scheme over the remaining path: CDK's own unique-id function, reached through
  // its public face (Names.nodeUniqueId of a detached construct chain with those ids).
  let mirror = new Construct(undefined as unknown as Construct, '');
  for (const c of below.filter((x) => !isGrouping(x))) mirror = new Construct(mirror, c.node.id);
  return Names.nodeUniqueId(mirror.node);
}
