// `just bench` / `npm run bench`: every figure beside its OpenSSH reference from the same run, as a ratio.
// BENCH_ONLY=certs|audit|ssh runs one section; BENCH_BYTES sets the upload size (default 1 GiB).
import { benchAudit } from './audit.ts';
import { benchCerts } from './certs.ts';
import { benchSsh } from './ssh.ts';
import { printTable, type Row } from './table.ts';

const only = process.env.BENCH_ONLY;
const rows: Row[] = [];
if (!only || only === 'certs') rows.push(...(await benchCerts()));
if (!only || only === 'audit') rows.push(...(await benchAudit()));
if (!only || only === 'ssh') rows.push(...(await benchSsh()));
printTable(rows);
process.exit(0);
