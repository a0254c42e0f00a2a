import type { Clock } from '../clock.ts';
import type { Emit } from './authorizer.ts';
import type { CaReader } from './caSet.ts';
import type { LockStore } from './locks.ts';
import type { ResourceRecordStore } from './resourceRecords.ts';
import type { RoleStore } from './roles.ts';

/**
 * What issuing a certificate derived from a user's access to one resource reads (app and database certificates):
 * the audit, the clock, the CAs, the user's roles and locks, and the resource records agents heartbeat (the
 * resource's labels, and for apps their public address).
 */
export interface DerivedCertDeps {
  emit: Emit;
  clock: Clock;
  cas: CaReader;
  roles: Pick<RoleStore, 'rolesOf'>;
  locks: Pick<LockStore, 'find'>;
  resources: Pick<ResourceRecordStore, 'list'>;
}
