import type { Browser, Page } from 'playwright-core';

export declare const CHROMIUM: string;
export declare const CHROMIUM_FLAGS: readonly string[];
export declare function ensureChromium(): { bin?: string; reason?: string };
export declare function chromiumOrSkip(what: string): string | undefined;
export declare function launchChromium(bin?: string): Promise<Browser>;
export interface TestPage extends Page {
  errors: Error[];
  consoleErrors: string[];
}
export declare function openPage(browser: Browser, url: string): Promise<TestPage>;
