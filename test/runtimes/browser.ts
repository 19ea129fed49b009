/** Headless Chromium and websockify for the browser tests (flags from TESTING.md). */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { inCI } from '../harness/sshd.js';

export const CHROMIUM = '/usr/bin/chromium';
export const WEBSOCKIFY = '/usr/bin/websockify';

/**
 * Headless, and no background traffic on the closed network. `profile` is a fresh directory
 * (playwright passes it as --user-data-dir).
 */
export function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** With CI=true a missing browser or bridge fails the run (Debian packages chromium, websockify). */
export function requireBrowserTools(): void {
  for (const p of [CHROMIUM, WEBSOCKIFY]) {
    if (!existsSync(p) && inCI()) throw new Error(`${p} is missing: apt-get install -y chromium websockify (.ci/run does)`);
  }
}
