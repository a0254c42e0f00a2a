// Reading IronRDP's screen in Chromium: its web component draws into a canvas inside its (open) shadow root, at the
// desktop's own size; the page scales it with CSS.
import type { Page } from 'playwright-core';

const CANVAS = `document.querySelector('iron-remote-desktop')?.shadowRoot?.querySelector('canvas')`;

/**
 * The RGB of the desktop's pixel (x, y) as IronRDP's canvas holds it (copied through a 2D canvas, which works
 * whatever context IronRDP draws with); empty when there is no canvas yet.
 */
export async function rdpCanvasPixel(page: Page, x: number, y: number): Promise<number[]> {
  return (await page.evaluate(`(() => {
    const c = ${CANVAS};
    if (!c || !c.width) return [];
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const g = copy.getContext('2d');
    g.drawImage(c, 0, 0);
    return [...g.getImageData(${x}, ${y}, 1, 1).data.slice(0, 3)];
  })()`)) as number[];
}

/** Where on the page the desktop's point (x, y) is, wherever and however scaled the canvas sits. */
export async function rdpScreenPoint(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  return (await page.evaluate(`(() => {
    const c = ${CANVAS};
    const r = c.getBoundingClientRect();
    return { x: r.left + ${x} * (r.width / c.width), y: r.top + ${y} * (r.height / c.height) };
  })()`)) as { x: number; y: number };
}
