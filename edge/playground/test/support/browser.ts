/**
 * Headless Chromium for the playground tests: Debian's `chromium` package (infra/browser/install.sh
 * installs it; `npx playwright install` cannot download here), driven by playwright-core.
 * DRAGFLOW_CHROMIUM names another executable.
 */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { REPO_ROOT } from './local-stack.ts';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export async function chromiumPath(): Promise<string> {
  const candidates = process.env.DRAGFLOW_CHROMIUM ? [process.env.DRAGFLOW_CHROMIUM] : CANDIDATES;
  for (const path of candidates) {
    try {
      await access(path);
      return path;
    } catch {
      // Try the next one.
    }
  }
  throw new Error(
    `no Chromium at ${candidates.join(' or ')}: run \`bash infra/browser/install.sh\` (Debian's chromium package) or set DRAGFLOW_CHROMIUM`,
  );
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumPath(), headless: true });
}

/** Folder for screenshots the tests leave behind (DRAGFLOW_TEST_ARTIFACTS, default test-artifacts/). */
export async function artifactsDir(): Promise<string> {
  const dir = process.env.DRAGFLOW_TEST_ARTIFACTS ?? join(REPO_ROOT, 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return dir;
}
