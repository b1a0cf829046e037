/**
 * The IdP configuration aggregate (stream idp-<id>): pure decide/evolve. Configurations are stored
 * whole, validated, with defaults made explicit, so history shows exactly what was in force.
 */
import { isDeepStrictEqual } from 'node:util';
import type { IdpEvent } from '../../../events/catalogue.js';
import type { IdpInput, IdpPatch, IdpStored } from '../../../schemas/types.gen.js';
import { ServiceError } from '../../shared/errors.js';
import { parseCertificate, validateIdp } from './validateIdp.js';

export type IdpState =
  | Readonly<{ status: 'absent' }>
  | Readonly<{ status: 'active'; idp: IdpStored; lastUpdated: string }>
  | Readonly<{ status: 'deleted'; lastUpdated: string }>;

export type IdpCommand =
  | Readonly<{ type: 'CreateIdp'; data: { id: string; input: IdpInput } }>
  | Readonly<{ type: 'UpdateIdp'; data: { id: string; patch: IdpPatch; replace: boolean } }>
  | Readonly<{ type: 'DeleteIdp'; data: { id: string } }>;

export function initialIdpState(): IdpState {
  return { status: 'absent' };
}

export function evolveIdp(state: IdpState, event: IdpEvent & { readonly recordedAt: string }): IdpState {
  const { type } = event;
  switch (type) {
    case 'IdpCreated':
    case 'IdpUpdated':
      return { status: 'active', idp: event.data.idp, lastUpdated: event.recordedAt };
    case 'IdpDeleted':
      return { status: 'deleted', lastUpdated: event.recordedAt };
    default: {
      const unreachable: never = type;
      throw new TypeError(`unknown IdP event ${String(unreachable)}`);
    }
  }
}

/** Explicit defaults, a canonical certificate, and the id. */
export function normalizeIdp(id: string, input: IdpInput | IdpStored): IdpStored {
  const { id: _ignored, ...fields } = input;
  const jit = fields['jit-configuration'] ?? {};
  const idp: IdpStored = {
    ...fields,
    id,
    enabled: fields.enabled ?? true,
    'jit-configuration': {
      ...jit,
      'user-provisioning-enabled': jit['user-provisioning-enabled'] ?? false,
      'additional-groups': jit['additional-groups'] ?? [],
      'group-sync': jit['group-sync'] ?? 'replace',
      'link-existing-users': jit['link-existing-users'] ?? false,
      'on-missing-attribute': jit['on-missing-attribute'] ?? 'reject',
    },
  };
  if (idp['sso-type'] === 'SAML') {
    idp['required-signatures'] ??= 'both';
    const certificate = idp.certificate ? parseCertificate(idp.certificate) : undefined;
    if (certificate) idp.certificate = certificate.pem;
  } else {
    idp['discovery-enabled'] ??= true;
  }
  return idp;
}

function validated(idp: IdpStored): IdpStored {
  const problems = validateIdp(idp);
  if (problems.length > 0) {
    const invalidMapping = problems.some((p) => p.position !== undefined);
    throw new ServiceError(invalidMapping ? 'invalid-mapping' : 'invalid-idp', problems.map((p) => p.message).join('; '), { problems });
  }
  return idp;
}

function changedFields(before: IdpStored, after: IdpStored): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof IdpStored>;
  return [...keys].filter((k) => !isDeepStrictEqual(before[k], after[k])).sort();
}

export function decideIdp(command: IdpCommand, state: IdpState): IdpEvent[] {
  const { type } = command;
  switch (type) {
    case 'CreateIdp': {
      if (state.status === 'active') throw new ServiceError('idp-exists', `An IdP with id ${command.data.id} already exists`);
      return [{ type: 'IdpCreated', data: { idp: validated(normalizeIdp(command.data.id, command.data.input)) } }];
    }
    case 'UpdateIdp': {
      if (state.status !== 'active') throw new ServiceError('idp-not-found', `No IdP with id ${command.data.id}`);
      const { patch, replace } = command.data;
      if (patch.id !== undefined && patch.id !== command.data.id) throw new ServiceError('invalid-idp', 'The id of an IdP cannot be changed');
      const current = state.idp;
      const merged = replace
        ? { ...patch, 'client-secret': patch['client-secret'] ?? current['client-secret'] }
        : { ...current, ...patch, 'jit-configuration': { ...current['jit-configuration'], ...patch['jit-configuration'] } };
      if (merged['client-secret'] === undefined) delete merged['client-secret'];
      const next = validated(normalizeIdp(command.data.id, { ...merged, name: merged.name ?? current.name, 'sso-type': merged['sso-type'] ?? current['sso-type'] }));
      const changed = changedFields(current, next);
      return changed.length === 0 ? [] : [{ type: 'IdpUpdated', data: { idp: next, changed } }];
    }
    case 'DeleteIdp':
      if (state.status !== 'active') throw new ServiceError('idp-not-found', `No IdP with id ${command.data.id}`);
      return [{ type: 'IdpDeleted', data: { id: command.data.id } }];
    default: {
      const unreachable: never = type;
      throw new TypeError(`unknown IdP command ${String(unreachable)}`);
    }
  }
}
