import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; tests never download a browser. */
export const CHROMIUM_PATH = process.env.KOOGATE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface TestBrowser {
  /** One browser profile: its cookies are the "browser" a test logs in with. */
  readonly context: BrowserContext;
  /** The fresh temporary profile directory (removed by close). */
  readonly userDataDir: string;
  /** The first tab, opened by Chromium at launch. */
  page(): Promise<Page>;
  /** Closes Chromium and removes the profile directory. Safe to call twice. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Default timeout of page actions and waits, ms (default 15 s, below a test's own timeout). */
  timeoutMs?: number;
  locale?: string;
}

/**
 * Starts Chromium headless with a fresh temporary profile: every call is a new, empty browser (no
 * cookies, no cache). Close it in afterAll/afterEach; close() also removes the profile.
 */
export async function launchBrowser(opts: LaunchOptions = {}): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'koogate-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
      locale: opts.locale ?? 'zh-CN',
      viewport: { width: 1024, height: 720 },
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const timeout = opts.timeoutMs ?? 15_000;
  context.setDefaultTimeout(timeout);
  context.setDefaultNavigationTimeout(timeout);
  let closed: Promise<void> | undefined;
  return {
    context,
    userDataDir,
    async page() {
      return context.pages()[0] ?? (await context.newPage());
    },
    close() {
      closed ??= (async () => {
        try {
          await context.close();
        } finally {
          await rm(userDataDir, { recursive: true, force: true });
        }
      })();
      return closed;
    },
  };
}
