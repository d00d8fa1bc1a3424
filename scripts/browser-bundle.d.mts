import type { Metafile } from 'esbuild';
export declare function bundleForBrowser(options: { entry: string; outfile: string; nodeShims?: boolean; minify?: boolean }): Promise<Metafile>;
