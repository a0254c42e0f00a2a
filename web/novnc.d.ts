// The part of noVNC's RFB class (@novnc/novnc 1.7, docs/API.md) the desktop view and player use; the package
// ships no types.
declare module '@novnc/novnc' {
  /** What RFB reads and writes: a WebSocket, or any object with the same members (the recording player's). */
  export interface RfbChannel {
    binaryType: string;
    protocol: string;
    readyState: number | string;
    onopen: ((e: Event) => void) | null;
    onclose: ((e: CloseEvent) => void) | null;
    onerror: ((e: Event) => void) | null;
    onmessage: ((e: MessageEvent) => void) | null;
    send(data: ArrayBuffer | Uint8Array): void;
    close(): void;
  }

  export interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }

  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket | RfbChannel, options?: RfbOptions);
    viewOnly: boolean;
    scaleViewport: boolean;
    clipViewport: boolean;
    resizeSession: boolean;
    focusOnClick: boolean;
    background: string;
    disconnect(): void;
    sendCtrlAltDel(): void;
    sendKey(keysym: number, code: string | null, down?: boolean): void;
    clipboardPasteFrom(text: string): void;
    focus(options?: FocusOptions): void;
    toDataURL(type?: string, quality?: number): string;
  }
}
