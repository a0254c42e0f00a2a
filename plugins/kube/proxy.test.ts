import { describe, expect, test } from 'bun:test';
import { AccessDenied, Locked, NotFound, Unauthenticated, Unavailable } from '../../core/errors.ts';
import { ownsServerName } from './proxy.ts';
import { refusalResponse } from './status.ts';

describe('kube proxy side', () => {
  test('owns <name>.kube.<this cluster> only: not another cluster, a deeper name or the bare suffix', () => {
    const proxy = { cluster: 'example.com', publicHost: 'tp.example.com' };
    expect(ownsServerName('k1.kube.example.com', proxy)).toBe(true);
    expect(ownsServerName('K1.Kube.Example.com', proxy)).toBe(true);
    for (const name of ['k1.kube.other.com', 'k1.kube.example.com.evil', 'a.k1.kube.example.com', 'kube.example.com'])
      expect(ownsServerName(name, proxy)).toBe(false);
    expect(ownsServerName('tp.example.com', proxy)).toBe(false);
  });

  test('a refusal is one complete HTTP/1.1 response whose status kubectl reads and whose text it prints', () => {
    const text = (e: Parameters<typeof refusalResponse>[0]) => refusalResponse(e).toString();
    const denied = text(new AccessDenied('access to kubernetes cluster "k2" is not allowed by your roles'));
    expect(denied).toStartWith('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n');
    expect(denied).toContain('\r\nConnection: close\r\n');
    const [head, body] = denied.split('\r\n\r\n');
    expect(body).toBe('tp: access to kubernetes cluster "k2" is not allowed by your roles\n');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body!)}`);
    expect(text(new Locked('user "bob" is locked: laptop stolen'))).toStartWith('HTTP/1.1 403 ');
    expect(text(new NotFound('kube "k9" not found'))).toStartWith('HTTP/1.1 403 ');
    expect(text(new Unauthenticated('run tp login'))).toStartWith('HTTP/1.1 401 ');
    expect(text(new Unavailable('kube "k1" is offline'))).toStartWith('HTTP/1.1 502 ');
  });

  test('a refused upgrade is a JSON metav1.Status naming the reason, since client-go decodes an upgrade error so', () => {
    const [head, body] = refusalResponse(new Locked('user "bob" is locked: laptop stolen'), true)
      .toString()
      .split('\r\n\r\n');
    expect(head).toStartWith('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n');
    expect(head).toContain('\r\nConnection: close');
    expect(JSON.parse(body!)).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message: 'tp: user "bob" is locked: laptop stolen',
    });
    expect(
      JSON.parse(refusalResponse(new Unavailable('offline'), true).toString().split('\r\n\r\n')[1]!),
    ).toMatchObject({
      reason: 'InternalError',
      code: 502,
    });
  });
});
