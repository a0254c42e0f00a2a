import { expect, test } from 'bun:test';
import { parseConfig } from '../config/load.ts';
import { proxyNames } from './options.ts';

test('the proxy certificate names the interface the proxy listens on, and the public address host', () => {
  const names = (yaml: string) => proxyNames(parseConfig(yaml, 'tp.yaml'));
  expect(names('proxy: {listen: "10.231.9.1:3080"}\n')).toContain('10.231.9.1');
  expect(names('proxy: {listen: "0.0.0.0:3080"}\n')).not.toContain('0.0.0.0');
  expect(names('proxy: {listen: "0.0.0.0:3080", public_addr: "tp.example.com:443"}\n')).toContain('tp.example.com');
});
