import { createStorage, type Storage } from 'unstorage';
import fsDriver from 'unstorage/drivers/fs';
import { recordingsStoreDir } from '../config/layout.ts';

/** Where session recordings are kept (tp.yaml `auth.recordings`). */
export type RecordingsStoreConfig =
  | { type: 'fs'; path?: string }
  | { type: 's3'; endpoint: string; bucket: string; region: string; access_key_id: string; secret_access_key: string };

/** Opens the recordings store: a directory (default `<data_dir>/recordings`) or an S3-compatible bucket for HA. */
export async function openRecordingsStore(
  config: RecordingsStoreConfig | undefined,
  dataDir: string,
): Promise<Storage> {
  if (config?.type === 's3') {
    const { default: s3Driver } = await import('unstorage/drivers/s3');
    return createStorage({
      driver: s3Driver({
        endpoint: config.endpoint,
        bucket: config.bucket,
        region: config.region,
        accessKeyId: config.access_key_id,
        secretAccessKey: config.secret_access_key,
      }),
    });
  }
  return createStorage({ driver: fsDriver({ base: recordingsStoreDir(dataDir, config)! }) });
}

/** The store key of part `n` of a session. */
export function partKey(sessionId: string, n: number): string {
  return `${sessionId}:${String(n).padStart(6, '0')}.jsonl`;
}
