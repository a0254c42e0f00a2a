import type { PublicCa } from '../api/schemas.ts';
import type { Backend } from '../backend/index.ts';
import { getDoc } from '../backend/json.ts';
import { CA_TYPES, type CaType, caKey, type LoadedCa, loadCa, publicCa, type StoredCa, StoredCaSchema } from './cas.ts';

/** The CAs one auth server has loaded for signing and verifying, as services read them. */
export interface CaReader {
  /** The CA of `type` as loaded now (replaced whole when a rotation changes it). */
  current(type: CaType): LoadedCa;
  /** Public keys of one CA; anyone may read them. */
  public(type: CaType): PublicCa;
}

/** The loaded CA set: rereads the CAs from storage on demand and tells listeners when any changed. */
export class CaSet implements CaReader {
  private loaded: Record<CaType, LoadedCa>;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly backend: Backend,
    cas: Record<CaType, StoredCa>,
  ) {
    this.loaded = Object.fromEntries(CA_TYPES.map((t) => [t, loadCa(cas[t])])) as Record<CaType, LoadedCa>;
  }

  current(type: CaType): LoadedCa {
    return this.loaded[type];
  }

  public(type: CaType): PublicCa {
    return publicCa(this.loaded[type].stored);
  }

  /** Rereads the CAs from storage; listeners (the API server's TLS context) run when any key changed. */
  async reload(): Promise<void> {
    const next: Partial<Record<CaType, LoadedCa>> = {};
    let changed = false;
    for (const type of CA_TYPES) {
      const doc = await getDoc(this.backend, caKey(type), StoredCaSchema);
      if (!doc) continue;
      if (JSON.stringify(doc.value) === JSON.stringify(this.loaded[type].stored)) continue;
      next[type] = loadCa(doc.value);
      changed = true;
    }
    if (!changed) return;
    this.loaded = { ...this.loaded, ...next };
    for (const fn of this.listeners) fn();
  }

  /** Calls `fn` after every CA change this server loads. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }
}
