/** Headless Chromium for the report and dashboard tests (Debian's `chromium`, driven by playwright-core). */
import { chromium, type Browser } from 'playwright-core';

/** KILN_CHROMIUM overrides where the browser binary is. */
export const CHROMIUM = process.env['KILN_CHROMIUM'] ?? '/usr/bin/chromium';

/** Launches Chromium or fails with what to do: these tests must not pass without a browser. */
export async function launchBrowser(): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  } catch (error) {
    throw new Error(
      `cannot start headless Chromium at ${CHROMIUM}: ${(error as Error).message.split('\n')[0]}\n` +
        "Install it with 'apt-get install chromium' (scripts/setup.sh --test does), or set KILN_CHROMIUM to a Chromium binary.",
    );
  }
}
