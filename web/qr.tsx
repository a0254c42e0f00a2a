import { generate } from 'lean-qr';
import { useMemo } from 'preact/hooks';

/** A QR code of `text` as an image, drawn in the page (the secret never goes to another server). */
export function Qr({ text }: { text: string }) {
  const src = useMemo(() => generate(text).toDataURL({ on: [0, 0, 0, 255], off: [255, 255, 255, 255] }), [text]);
  return <img class="qr" src={src} alt="QR code of the authenticator secret" data-testid="totp-qr" />;
}
