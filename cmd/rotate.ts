import { defineCommand } from 'citty';
import type { RotationStatus } from '../core/api/rotationSchemas.ts';
import { BadParameter } from '../core/errors.ts';
import type { RotationPhase } from '../core/identity/rotationPhase.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { rotationStatusView, rotationView } from './lib/outputViews.ts';

const PHASES: RotationPhase[] = ['init', 'update_clients', 'update_servers', 'standby', 'rollback'];

const ago = (ms: number) => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

function bar(done: number, total: number, width = 24): string {
  const full = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/** The status as a person reads it: phase, progress, what it waits for, CAs, servers. */
function statusText(s: RotationStatus, tty: boolean): string {
  const st = s.state;
  const out: string[] = [];
  if (st.phase === 'standby') {
    out.push(
      st.last
        ? `no rotation running; the last one (${st.last.id.slice(0, 8)}, ${st.last.types.join(', ')}) ${st.last.result === 'completed' ? 'completed' : 'was rolled back'} ${ago(st.last.at)}`
        : 'no rotation running (the CAs were never rotated)',
    );
  } else {
    out.push(
      `rotation ${st.id.slice(0, 8)} of ${st.types.join(', ')} CA: phase ${st.phase} (${st.mode}) since ${ago(st.phaseSince)}`,
      `started ${new Date(st.started).toISOString()}; old CAs trusted at least until ${new Date(st.started + st.graceMs).toISOString()}`,
    );
    const done = s.servers.filter((x) => x.caughtUp).length;
    out.push(
      `${tty ? `${bar(done, s.servers.length)} ` : ''}${done}/${s.servers.length} servers have taken on ${st.phase}`,
    );
    if (st.stalled)
      out.push(
        `STALLED since ${new Date(st.stalled.since).toISOString()} (not advancing): waiting for ${st.stalled.waiting.join(', ')}.`,
        '  Bring them back (they catch up on their own), advance by hand with `tp rotate phase NEXT`, or `tp rotate rollback`.',
      );
    else if (s.waitingFor) out.push(`waiting for ${s.waitingFor}`);
    else if (st.mode === 'manual') out.push('manual mode: advance with `tp rotate phase NEXT` when ready');
  }
  out.push(
    '',
    table(
      s.cas.map((c) => ({ ca: c.type, signs_with: c.active, also_trusted: c.trusted.slice(1).join(', ') || '-' })),
      ['ca', 'signs_with', 'also_trusted'],
    ),
  );
  if (s.servers.length)
    out.push(
      '',
      table(
        s.servers.map((x) => ({
          kind: x.kind,
          name: x.name,
          host_id: x.id,
          holds: x.rotationId === st.id ? x.phase : 'older state',
          reported: x.at ? ago(x.at) : 'never',
          ok: x.caughtUp ? 'yes' : 'NO',
        })),
        ['kind', 'name', 'host_id', 'holds', 'reported', 'ok'],
      ),
    );
  return out.join('\n');
}

const start = defineCommand({
  meta: {
    name: 'start',
    description:
      'Start rotating CAs. Phases: init (new CA trusted) → update_clients (new CA signs) → update_servers (servers\n' +
      'renew their certs) → standby (old CA dropped). Automatic mode advances when every agent and proxy has reported\n' +
      'the phase and, before dropping the old CA, once --grace has passed; if servers stay silent past --timeout it\n' +
      'stops and says who it waits for. --manual: advance yourself with `tp rotate phase`.\n' +
      'Databases hold the database CAs themselves: for db_client, once in init put `tp ca export --type db_client`\n' +
      "(old and new) into each database's ssl_ca_file / ssl-ca and reload it before update_clients; for db, serve a\n" +
      'certificate from `tp ca sign --db` once in update_clients (agents trust old and new until standby).\n' +
      'For jwt, apps that cache the JWKS (https://<proxy>/.well-known/jwks.json) should refetch it on an unknown kid:\n' +
      'it lists old and new keys from init until standby.',
  },
  args: {
    type: { type: 'string', required: true, description: 'CA to rotate: user, host, tls, db, db_client, jwt or all' },
    grace: {
      type: 'string',
      default: '30h',
      description: 'Keep old CAs trusted at least this long (users log in again)',
    },
    timeout: {
      type: 'string',
      default: '10m',
      description: 'Automatic mode: how long to wait in one phase for servers',
    },
    manual: { type: 'boolean', description: 'Advance phases by hand (tp rotate phase ...)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const { parseRotationTypes } = await import('../core/auth/rotation.ts');
    const st = await adminAuth(args).startRotation({
      types: parseRotationTypes(args.type),
      mode: args.manual ? 'manual' : 'auto',
      graceMs: durationArg('grace', args.grace),
      timeoutMs: durationArg('timeout', args.timeout),
    });
    await print(
      formatOf(args.format),
      'rotate start',
      rotationView(st),
      () =>
        `rotation ${st.id} of ${st.types.join(', ')} started in phase init (${st.mode}); ${st.servers.length} server(s) to follow it.\n` +
        `Watch it with \`tp rotate status\`${st.mode === 'manual' ? '; next: `tp rotate phase update_clients`' : ''}.`,
    );
  }),
});

const phase = defineCommand({
  meta: {
    name: 'phase',
    description:
      'Move the rotation to its next phase by hand: init → update_clients → update_servers → standby (or\n' +
      'rollback → standby). Refused while `tp rotate status` shows servers that have not taken on the current phase\n' +
      '(they could be left with certificates no one trusts), unless --force.',
  },
  args: {
    phase: { type: 'positional', required: true, description: PHASES.join(' | ') },
    force: { type: 'boolean', description: 'Advance even though servers have not caught up' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    if (!PHASES.includes(args.phase as RotationPhase))
      throw new BadParameter(`unknown phase "${args.phase}": use one of ${PHASES.join(', ')}`);
    const st = await adminAuth(args).setRotationPhase(args.phase as RotationPhase, !!args.force);
    await print(
      formatOf(args.format),
      'rotate phase',
      rotationView(st),
      () => `rotation ${st.id.slice(0, 8)} is now in phase ${st.phase}`,
    );
  }),
});

const rollback = defineCommand({
  meta: {
    name: 'rollback',
    description:
      'Roll the running rotation back (any phase before the final standby): the old CAs sign again and servers\n' +
      'renew their certs from them; then the new keys are dropped.',
  },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const st = await adminAuth(args).rollbackRotation();
    await print(
      formatOf(args.format),
      'rotate rollback',
      rotationView(st),
      () =>
        `rotation ${st.id.slice(0, 8)} is rolling back${st.mode === 'manual' ? '; finish with `tp rotate phase standby`' : ''}`,
    );
  }),
});

const status = defineCommand({
  meta: {
    name: 'status',
    description:
      'Show the rotation: phase, progress of every agent and proxy, what automatic mode waits for, and the CA keys.\n' +
      '--format json prints {state, cas, servers, waiting_for}.',
  },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const s = await adminAuth(args).rotationStatus();
    await print(formatOf(args.format), 'rotate status', rotationStatusView(s), () =>
      statusText(s, !!process.stdout.isTTY),
    );
  }),
});

export default defineCommand({
  meta: {
    name: 'rotate',
    description: 'Rotate the cluster CAs without downtime (user, host, tls, db, db_client, jwt or all)',
  },
  subCommands: { start, phase, rollback, status },
});
