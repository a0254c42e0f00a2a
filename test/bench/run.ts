// `just bench` / `npm run bench`: every figure beside its OpenSSH reference from the same run, as a ratio.
// BENCH_ONLY=certs,audit,rotation,db,kube,desktop,desktop-web,desktop-rdp,apps,ssh,web,rate,logins,ls,tunnels,footprint,dist,bots picks sections (dist: what `just dist`
// built, skipped when nothing is); BENCH_BYTES, BENCH_NODES and
// BENCH_TUNNELS, BENCH_ROTATION_AGENTS size them (defaults: 1 GiB, 10,000 nodes, 10,000 tunnels, 50 agents).
import { benchApps } from './apps.ts';
import { benchAudit } from './audit.ts';
import { benchBots } from './bots.ts';
import { benchCerts } from './certs.ts';
import { startBenchCluster } from './cluster.ts';
import { benchPostgres } from './db.ts';
import { benchMysql } from './dbMysql.ts';
import { benchDesktop } from './desktop.ts';
import { benchDesktopRdp } from './desktopRdp.ts';
import { benchDesktopWeb } from './desktopWeb.ts';
import { benchDist } from './dist.ts';
import { benchFootprint } from './footprint.ts';
import { benchKube } from './kube.ts';
import { benchRotation } from './rotation.ts';
import { benchListing, benchLogins, benchSessionRate } from './scale.ts';
import { benchSsh } from './ssh.ts';
import { printTable, type Row } from './table.ts';
import { benchTunnels } from './tunnels.ts';
import { benchWeb } from './web.ts';

const only = process.env.BENCH_ONLY?.split(',');
const want = (s: string) => !only || only.includes(s);
const rows: Row[] = [];
if (want('certs')) rows.push(...(await benchCerts()));
if (want('audit')) rows.push(...(await benchAudit()));
if (want('rotation')) rows.push(...(await benchRotation()));
if (want('db')) rows.push(...(await benchPostgres()), ...(await benchMysql()));
if (want('kube')) rows.push(...(await benchKube()));
if (want('desktop')) rows.push(...(await benchDesktop()));
if (want('desktop-web')) rows.push(...(await benchDesktopWeb()));
if (want('desktop-rdp')) rows.push(...(await benchDesktopRdp()));
if (want('apps')) rows.push(...(await benchApps()));
const clusterSections = ['ssh', 'web', 'rate', 'logins', 'footprint', 'dist', 'ls', 'tunnels', 'bots'].filter(want);
if (clusterSections.length) {
  const c = await startBenchCluster();
  try {
    if (want('ssh')) rows.push(...(await benchSsh(c)));
    if (want('web')) rows.push(...(await benchWeb(c)));
    if (want('rate')) rows.push(...(await benchSessionRate(c)));
    if (want('logins')) rows.push(...(await benchLogins(c)));
    if (want('footprint')) rows.push(...(await benchFootprint(c)));
    if (want('dist')) rows.push(...(await benchDist(c)));
    if (want('bots')) rows.push(...(await benchBots(c)));
    if (want('ls')) rows.push(...(await benchListing(c)));
    if (want('tunnels')) rows.push(...(await benchTunnels(c)));
  } finally {
    await c.stop();
  }
}
printTable(rows);
process.exit(0);
