// Real Chromium for tests that open what the kit writes (HTML reports) in a browser. No browser
// download works on our machines: Playwright drives Debian's chromium (apt-get install chromium),
// or the binary named by SEHIL_CHROMIUM, as vitest.config.ts's browser project does. Tests that
// need it use
//   it.skipIf(!chromiumAvailable)(withSkipReason('…'), …)  and call warnIfChromiumMissing() once.
// Also here: serveDir(), a static HTTP server on 127.0.0.1 for reports that are a directory.

import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright';

export const chromiumPath: string = process.env.SEHIL_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumAvailable: boolean = fs.existsSync(chromiumPath);
export const chromiumSkipReason = `Chromium not found at ${chromiumPath} (apt-get install chromium, or set SEHIL_CHROMIUM): browser checks skipped`;

/** As root Chromium needs --no-sandbox; the network flags stop it calling home on a network that refuses. */
export const chromiumArgs: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumLaunchOptions(extra: LaunchOptions = {}): LaunchOptions {
  return { executablePath: chromiumPath, args: [...chromiumArgs], timeout: 30_000, ...extra };
}

export function launchChromium(extra: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch(chromiumLaunchOptions(extra));
}

/** A test title that says why it is skipped when Chromium is missing (vitest shows only the title). */
export function withSkipReason(title: string): string {
  return chromiumAvailable ? title : `${title} [skipped: ${chromiumSkipReason}]`;
}

let warned = false;
/** console.warn the skip reason once per process when Chromium is missing. */
export function warnIfChromiumMissing(): void {
  if (!chromiumAvailable && !warned) {
    warned = true;
    console.warn(chromiumSkipReason);
  }
}

export interface PageWatch {
  /** Requests the page made to anything but file:, data:, blob: and `allowedOrigin`. */
  external: string[];
  /** Uncaught exceptions, console errors (CSP violations show up here) and HTTP errors. */
  errors: string[];
}

/**
 * Records what a page does that a self-contained report must not: requests leaving the machine
 * (aborted, so a test never waits on a network) and errors.
 */
export async function watchPage(page: Page, allowedOrigin?: string): Promise<PageWatch> {
  const w: PageWatch = { external: [], errors: [] };
  await page.route(
    (url) => !['file:', 'data:', 'blob:'].includes(url.protocol) && url.origin !== allowedOrigin,
    (route) => {
      w.external.push(route.request().url());
      return route.abort();
    },
  );
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) w.errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return w;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  close(): Promise<void>;
}

/** Serves `root` read-only on 127.0.0.1 at a free port; `/` is index.html. */
export async function serveDir(root: string): Promise<StaticServer> {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(base, rel.endsWith('/') ? `${rel}index.html` : rel);
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
