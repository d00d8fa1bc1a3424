// The playground page (examples/playground/) in headless Chromium, used as a person would:
// type, click, and read what the page shows; each displayed number is checked against the
// page's own store (store.stats(), range reads), so the view must reflect the engine.
// Keeps a screenshot: test-artifacts/playground.png (docs/playground.png is a kept copy).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium, openPage, type TestPage } from '../scripts/chromium.mjs';
import { startStaticServer, type StaticServer } from '../scripts/static-server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = chromiumOrSkip('test/playground.test.ts');

describe.runIf(bin)('the playground page', () => {
  let browser: Browser;
  let server: StaticServer;
  let page: TestPage;

  beforeAll(async () => {
    expect(existsSync(join(root, 'dist/browser.js')), 'dist/browser.js: run npm run build').toBe(true);
    server = await startStaticServer({ '/': root });
    browser = await launchChromium(bin);
    page = await openPage(browser, `${server.url}examples/playground/`);
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.waitForFunction(() => (window as any).playground?.ready === true, undefined, { timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const click = async (selector: string) => {
    await page.click(selector);
    await page.evaluate(() => (window as any).playground.last);
  };
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the text as rendered, which the test reads
  const text = (selector: string) => page.locator(selector).innerText();
  const num = async (selector: string) => Number((await text(selector)).replace(/,/g, ''));
  const stats = () => page.evaluate(() => (window as any).playground.store.stats());
  /** The levels table as shown: [level, runs, entries] per row. */
  const shownLevels = async () => (await page.locator('#levels tbody tr').evaluateAll((rows) => rows.map((r) => {
    const cells = Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '');
    return [Number(cells[0].slice(1)), Number(cells[1].replace(/,/g, '')), Number(cells[2].replace(/,/g, ''))];
  })));
  const expectViewMatchesStore = async () => {
    const st = await stats();
    expect(await num('#memtable-entries')).toBe(st.memtable.entries);
    expect(await num('#stat-sequence')).toBe(st.sequence);
    expect(await num('#stat-flushes')).toBe(st.counters.flushes);
    expect(await num('#stat-compactions')).toBe(st.counters.compactions);
    const levels = await shownLevels();
    for (const [level, runs, entries] of levels) {
      expect([level, runs, entries]).toEqual([level, st.levels[level].runs, st.levels[level].entries]);
    }
    // Every level holding runs is shown.
    expect(levels.length).toBeGreaterThan(Math.max(0, ...st.levels.filter((l: any) => l.runs > 0).map((l: any) => l.level)));
    return st;
  };

  it('shows writes filling the memtable, flushing into level-0 runs and compacting into deeper levels', async () => {
    await page.fill('#count', '3000');
    await page.fill('#value-bytes', '64');
    await click('#write');
    let st = await expectViewMatchesStore();
    expect(st.sequence).toBe(3000);
    // 3,000 × ~70 bytes is over three 64 KiB memtables.
    expect(st.counters.flushes).toBeGreaterThanOrEqual(3);
    expect(st.runs).toBeGreaterThan(0);
    expect(await text('#log')).toMatch(/wrote 3,000 sequential keys/);

    await click('#flush');
    st = await expectViewMatchesStore();
    expect(await num('#memtable-entries')).toBe(0);

    await click('#compact');
    st = await expectViewMatchesStore();
    expect(st.levels[0].runs).toBe(0);
    expect(st.counters.compactions).toBeGreaterThanOrEqual(1);
    const levels = await shownLevels();
    expect(levels.reduce((n, [, , entries]) => n + entries, 0)).toBe(3000);
    expect(await page.locator('#levels tbody tr:not([data-level="0"]) .run').count()).toBe(st.runs);
  });

  it('puts, gets and deletes a typed key', async () => {
    await page.fill('#key', 'user:ada');
    await page.fill('#value', 'hello from the page');
    await click('#put');
    await click('#get');
    const version = await page.evaluate(() => (window as any).playground.store.getVersioned('user:ada').version);
    expect(version).toBe(3001);
    expect(await text('#get-result')).toBe('"hello from the page" (version 3,001)');
    await click('#delete');
    await click('#get');
    expect(await text('#get-result')).toBe('(absent)');
    await page.fill('#value', 'back again');
    await click('#put');
    await expectViewMatchesStore();
  });

  it('runs range queries and shows what the store holds', async () => {
    await page.fill('#from', 'k000010');
    await page.fill('#to', 'k000015');
    await page.fill('#limit', '100');
    await click('#query');
    const rows = await page.locator('#results tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.getAttribute('title') ?? td.textContent)));
    const expected = await page.evaluate(() => {
      const s = (window as any).playground.store;
      return [...s.range('k000010', 'k000015')].map(([k, v]: [string, string]) => [k, v, String(s.getVersioned(k).version)]);
    });
    expect(rows.map((r) => r[0])).toEqual(['k000010', 'k000011', 'k000012', 'k000013', 'k000014']);
    expect(rows).toEqual(expected);
    expect(await text('#result-count')).toMatch(/^5 entries in \[k000010, k000015\)/);

    await page.fill('#from', 'user:');
    await page.fill('#to', 'user;');
    await page.check('#reverse');
    await page.press('#to', 'Enter'); // Enter in a query field runs it too
    await page.evaluate(() => (window as any).playground.last);
    const user = await page.locator('#results tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    expect(user).toEqual(['user:ada']);
    expect(await text('#results tbody')).toContain('back again');

    // Leave an interesting picture: a bigger load with level-0 runs waiting, a range shown.
    await page.uncheck('#reverse');
    await page.check('input[name=mode][value=random]');
    await page.fill('#count', '12000');
    await page.fill('#value-bytes', '40');
    await click('#write');
    await page.fill('#from', 'k000100');
    await page.fill('#to', 'k000200');
    await page.fill('#limit', '8');
    await click('#query');
    const st = await expectViewMatchesStore();
    expect(st.sequence).toBe(3003 + 12000);
    expect(await page.locator('#results tbody tr').count()).toBe(Math.min(8, await page.evaluate(() => [...(window as any).playground.store.range('k000100', 'k000200', { limit: 8 })].length)));
    expect(page.errors).toEqual([]);
    const dir = join(root, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'playground.png'), fullPage: true });
    expect(existsSync(join(dir, 'playground.png'))).toBe(true);
  });

  it('shares one OPFS store with a second tab: puts from either show in both, a fill goes past the owner\'s memory, closing the owner hands it over', async () => {
    // Two pages of one browser context: the same origin's OPFS and Web Locks.
    const context = await browser.newContext();
    const tab = async () => {
      const p = await context.newPage();
      await p.goto(page.url());
      await p.waitForFunction(() => (window as any).playground?.ready === true, undefined, { timeout: 30_000 });
      return p;
    };
    const first = await tab();
    const second = await tab();
    const pages = [first, second];
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the text as rendered, which the test reads
    const shown = (p: Page, selector: string) => p.locator(selector).innerText();
    const owners = async () => Promise.all(pages.map((p) => p.evaluate(() => (window as any).playground.shared.store.isOwner)));
    expect((await owners()).filter(Boolean)).toHaveLength(1); // exactly one tab owns the store
    for (const p of pages) expect(await shown(p, '#shared-owner')).toMatch(await p.evaluate(() => (window as any).playground.shared.store.isOwner) ? /^this tab owns/ : /^another tab owns/);

    const sharedClick = async (p: Page, selector: string) => {
      await p.click(selector);
      await p.evaluate(() => (window as any).playground.shared.last);
    };
    await first.fill('#shared-key', 'first');
    await first.fill('#shared-value', 'from tab one');
    await sharedClick(first, '#shared-put');
    await second.fill('#shared-key', 'second');
    await second.fill('#shared-value', 'from tab two');
    await sharedClick(second, '#shared-put');
    for (const p of pages) {
      await p.evaluate(() => (window as any).playground.shared.refresh());
      const recent = await shown(p, '#shared-recent');
      expect(recent).toMatch(/:first = from tab one/);
      expect(recent).toMatch(/:second = from tab two/);
    }

    // Three fills of 16 MiB from the second tab: the data goes past the owner's memory, read
    // back through a 4 MiB block cache. The first tab's view shows the owner's numbers.
    for (let i = 0; i < 3; i++) await sharedClick(second, '#shared-fill');
    await first.evaluate(() => (window as any).playground.shared.refresh());
    const st = await first.evaluate(() => (window as any).playground.shared.store.stats());
    expect(st.runBytes).toBeGreaterThan(48 << 20);
    expect(st.fileBackedRuns).toBeGreaterThan(0);
    expect(st.memoryBytes).toBeLessThan(st.runBytes);
    const shownMiB = (t: string) => Number.parseFloat(t);
    expect(shownMiB(await shown(first, '#shared-run-bytes'))).toBeCloseTo(st.runBytes / (1 << 20), 0);
    expect(await shown(first, '#shared-file-runs')).toBe(st.fileBackedRuns.toLocaleString('en-US'));

    // The owning tab goes: the other takes over and still reads every put.
    const [ownerPage, other] = (await owners())[0] ? [first, second] : [second, first];
    await ownerPage.close();
    await other.waitForFunction(() => (window as any).playground.shared.store.isOwner === true, undefined, { timeout: 20_000 });
    await other.evaluate(() => (window as any).playground.shared.refresh());
    expect(await shown(other, '#shared-owner')).toMatch(/^this tab owns/);
    expect(await shown(other, '#shared-recent')).toMatch(/:second = from tab two/);
    expect(await other.evaluate(() => (window as any).playground.shared.store.stats().then((s: any) => s.runBytes))).toBeGreaterThan(48 << 20);
    await context.close();
  }, 120_000);
});
