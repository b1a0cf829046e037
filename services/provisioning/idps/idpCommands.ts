/**
 * Admin changes to IdP configurations: decide against the registry's state, append with the
 * expected revision, and wait until the registry reflects the change (read-your-writes).
 */
import { idpStreamId } from '../../../events/catalogue.js';
import type { IdpInput, IdpPatch, IdpStored } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { WrongExpectedRevisionError, type EventStore } from '../../shared/eventStore/eventStore.js';
import { decideIdp, type IdpCommand } from './idpDecider.js';
import type { IdpRegistry } from './idpRegistry.js';

export type IdpCommandDeps = Readonly<{ store: EventStore; registry: IdpRegistry; newId: () => string }>;
export type AdminContext = Readonly<{ actor: string; correlationId: string }>;

async function run(deps: IdpCommandDeps, command: IdpCommand, context: AdminContext): Promise<boolean> {
  const { id } = command.data;
  const events = decideIdp(command, deps.registry.state(id));
  if (events.length === 0) return false;
  const revision = deps.registry.revision(id);
  try {
    const result = await deps.store.appendToStream(
      idpStreamId(id),
      events.map((event) => ({ ...event, eventId: deps.newId(), metadata: { correlationId: context.correlationId, actor: context.actor, schemaVersion: 1 } })),
      { expectedRevision: revision ?? 'no-stream' },
    );
    await deps.registry.waitFor(result.lastPosition);
    return true;
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) {
      throw new ServiceError(command.type === 'CreateIdp' ? 'idp-exists' : 'conflict', undefined, { cause: error });
    }
    throw error;
  }
}

/** A short id from the name, made unique, when the client did not choose one. */
function generateId(deps: IdpCommandDeps, name: string): string {
  const base = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'idp';
  if (deps.registry.state(base).status === 'absent') return base;
  return `${base}-${deps.newId().slice(0, 8)}`;
}

export async function createIdp(deps: IdpCommandDeps, input: IdpInput, context: AdminContext): Promise<IdpStored> {
  const id = input.id ?? generateId(deps, input.name);
  await run(deps, { type: 'CreateIdp', data: { id, input } }, context);
  return deps.registry.get(id)!;
}

export async function updateIdp(deps: IdpCommandDeps, id: string, patch: IdpPatch, context: AdminContext, replace = false): Promise<IdpStored> {
  await run(deps, { type: 'UpdateIdp', data: { id, patch, replace } }, context);
  return deps.registry.get(id)!;
}

export async function deleteIdp(deps: IdpCommandDeps, id: string, context: AdminContext): Promise<void> {
  await run(deps, { type: 'DeleteIdp', data: { id } }, context);
}

function applyCommand(registry: IdpRegistry, input: IdpInput & { id: string }): IdpCommand {
  return registry.state(input.id).status === 'active'
    ? { type: 'UpdateIdp', data: { id: input.id, patch: input, replace: true } }
    : { type: 'CreateIdp', data: { id: input.id, input } };
}

/** Throws the ServiceError that applyIdp would throw for this configuration, without writing anything. */
export function checkApplyIdp(registry: IdpRegistry, input: IdpInput & { id: string }): void {
  decideIdp(applyCommand(registry, input), registry.state(input.id));
}

/** Makes the store hold exactly this configuration for the IdP; nothing is written when it already does. */
export async function applyIdp(deps: IdpCommandDeps, input: IdpInput & { id: string }, context: AdminContext): Promise<'created' | 'updated' | 'unchanged'> {
  for (let attempt = 1; ; attempt++) {
    const command = applyCommand(deps.registry, input);
    try {
      const written = await run(deps, command, context);
      return command.type === 'CreateIdp' ? 'created' : written ? 'updated' : 'unchanged';
    } catch (error) {
      // Several processes starting with the same JIT_IDPS_FILE race; the loser catches up and
      // decides again (usually: unchanged).
      const raced = ServiceError.isInstance(error) && (error.code === 'idp-exists' || error.code === 'conflict') && error.cause instanceof WrongExpectedRevisionError;
      if (!raced || attempt >= 5) throw error;
      await deps.registry.waitFor(await deps.store.headPosition());
    }
  }
}
