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

/** The desktop's size as IronRDP's canvas holds it (0x0 before the session draws). */
export async function rdpCanvasSize(page: Page): Promise<{ width: number; height: number }> {
  return (await page.evaluate(
    `(() => { const c = ${CANVAS}; return { width: c?.width ?? 0, height: c?.height ?? 0 }; })()`,
  )) as { width: number; height: number };
}

/** Where the canvas shows on the page (its bounding box), for checks of scaling. */
export async function rdpShownBox(page: Page): Promise<{ left: number; top: number; right: number; bottom: number }> {
  return (await page.evaluate(`(() => {
    const r = ${CANVAS}.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  })()`)) as { left: number; top: number; right: number; bottom: number };
}

/**
 * A test that `[r, g, b]` is `colour` give or take what 16-bit colour (IronRDP asks for 16 bpp) keeps of it; false
 * for an empty pixel (no canvas yet).
 */
export function nearColour(colour: readonly number[]): (pixel: number[]) => boolean {
  return (p) => p.length === 3 && p.every((v, i) => Math.abs(v - colour[i]!) <= 8);
}
