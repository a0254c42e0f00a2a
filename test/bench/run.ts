// `just bench` / `npm run bench`: every figure beside its OpenSSH reference from the same run, as a ratio.
import { benchCerts } from './certs.ts';
import { printTable, type Row } from './table.ts';

process.env.NODE_ENV = 'test';
const rows: Row[] = [];
rows.push(...(await benchCerts()));
printTable(rows);
process.exit(0);
