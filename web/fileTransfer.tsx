import { useEffect, useRef, useState } from 'preact/hooks';
import { readable } from './api.ts';
import { downloadFile, type TransferTarget, uploadFile } from './transfers.ts';

type Mode = 'upload' | 'download';

/** One file on its way: how far it got, and how it ended. */
interface Item {
  name: string;
  done: number;
  total: number;
  /** Where it went (upload: the remote path; download: the file name saved), once finished. */
  result?: string;
  error?: string;
}

const size = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`;

/**
 * The terminal's Upload and Download buttons: each opens a dialog that moves files between this computer and the
 * server over SFTP, as the terminal's login, with progress per file and the server's refusal in words.
 */
export function FileTransfer({ target, name }: { target: TransferTarget; name: string }) {
  const [mode, setMode] = useState<Mode | undefined>();
  return (
    <>
      <button type="button" class="secondary" onClick={() => setMode('upload')}>
        Upload
      </button>
      <button type="button" class="secondary" onClick={() => setMode('download')}>
        Download
      </button>
      {mode && <TransferDialog mode={mode} target={target} name={name} onClose={() => setMode(undefined)} />}
    </>
  );
}

function TransferDialog({
  mode,
  target,
  name,
  onClose,
}: {
  mode: Mode;
  target: TransferTarget;
  name: string;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const files = useRef<HTMLInputElement>(null);
  const [dir, setDir] = useState('~');
  const [path, setPath] = useState('');
  const [items, setItems] = useState<Item[]>([]);
  const [busy, setBusy] = useState(false);
  // Closing the dialog (Cancel, Escape) stops what is still moving.
  const abort = useRef(new AbortController());
  useEffect(() => {
    dialog.current?.showModal();
    return () => abort.current.abort();
  }, []);
  const update = (i: number, change: Partial<Item>) =>
    setItems((all) => all.map((it, j) => (j === i ? { ...it, ...change } : it)));

  const upload = async () => {
    const chosen = [...(files.current?.files ?? [])];
    if (!chosen.length) return;
    setItems(chosen.map((f) => ({ name: f.name, done: 0, total: f.size })));
    setBusy(true);
    // One at a time: the first refusal (a directory the login cannot write) is seen before the rest are sent.
    for (const [i, f] of chosen.entries()) {
      try {
        if (abort.current.signal.aborted) break;
        const to = await uploadFile(target, dir, f, (done, total) => update(i, { done, total }), abort.current.signal);
        update(i, { done: f.size, result: `Uploaded to ${to}` });
      } catch (err) {
        update(i, { error: readable(err) });
      }
    }
    setBusy(false);
  };
  const download = async () => {
    if (!path.trim()) return;
    setItems([{ name: path, done: 0, total: 0 }]);
    setBusy(true);
    try {
      const saved = await downloadFile(target, path, (done, total) => update(0, { done, total }), abort.current.signal);
      update(0, { result: `Saved as ${saved}` });
    } catch (err) {
      update(0, { error: readable(err) });
    }
    setBusy(false);
  };

  const title = mode === 'upload' ? `Upload files to ${name}` : `Download a file from ${name}`;
  return (
    <dialog
      ref={dialog}
      class="card transfer"
      aria-labelledby="transfer-title"
      onClose={() => {
        abort.current.abort();
        onClose();
      }}
      data-testid="transfer-dialog"
    >
      <h2 id="transfer-title">{title}</h2>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void (mode === 'upload' ? upload() : download());
        }}
      >
        {mode === 'upload' ? (
          <>
            <label for="transfer-files">Files</label>
            <input id="transfer-files" ref={files} type="file" multiple required disabled={busy} />
            <label for="transfer-dir">Destination directory</label>
            <input
              id="transfer-dir"
              value={dir}
              required
              disabled={busy}
              aria-describedby="transfer-dir-hint"
              onInput={(e) => setDir((e.target as HTMLInputElement).value)}
            />
            <p id="transfer-dir-hint" class="muted">
              ~ is the home directory of {target.login} on {name}. A file of the same name there is replaced.
            </p>
          </>
        ) : (
          <>
            <label for="transfer-path">File on the server</label>
            <input
              id="transfer-path"
              value={path}
              required
              disabled={busy}
              placeholder="~/report.txt or /var/log/syslog"
              onInput={(e) => setPath((e.target as HTMLInputElement).value)}
            />
          </>
        )}
        <div class="row transfer-actions">
          <button type="submit" disabled={busy}>
            {mode === 'upload' ? 'Upload' : 'Download'}
          </button>
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            {busy ? 'Cancel' : 'Close'}
          </button>
        </div>
      </form>
      <ul class="transfer-list" aria-label="Transfers">
        {items.map((it, i) => (
          <li key={`${i} ${it.name}`} data-testid="transfer-item">
            <span class="transfer-name">{it.name}</span>
            <progress
              max={it.total || 1}
              value={it.error ? 0 : it.result ? it.total || 1 : it.done}
              aria-label={`Progress of ${it.name}`}
            />
            <span role="status" class={it.error ? 'error' : it.result ? 'ok' : 'muted'}>
              {it.error ??
                it.result ??
                (it.total ? `${Math.floor((100 * it.done) / it.total)}% of ${size(it.total)}` : `${size(it.done)}`)}
            </span>
          </li>
        ))}
      </ul>
    </dialog>
  );
}
