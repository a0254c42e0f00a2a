import type { Duplex } from 'node:stream';
import { BadParameter } from '../errors.ts';

/** Splits `host:port` or `[v6]:port` into host (brackets removed) and port; throws BadParameter otherwise. */
export function parseHostPort(addr: string): [host: string, port: number] {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BadParameter(`"${addr}" is not host:port`);
  }
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), port];
}

/** Joins two streams both ways until either ends; an error or close on one ends the other. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', end);
    s.on('close', end);
  }
}
