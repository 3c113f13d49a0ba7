// Shared by scripts/bench.mjs and scripts/make-parity-golden.mjs: bundles a browser entry (TypeScript, WGSL)
// with rollup, serves the repository on localhost (WebGPU needs a secure origin), and opens it in Debian's
// Chromium through playwright-core with the WebGPU flags verified in ../shared/ENVIRONMENT.md (karma.conf.cjs
// uses the same set). Nothing is downloaded.
import { createServer } from "node:http";
import { readFile, stat, mkdir, writeFile } from "node:fs/promises";
import { extname, join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { rollup } from "rollup";
import nodeResolve from "@rollup/plugin-node-resolve";
import typescript from "@rollup/plugin-typescript";
import { chromium } from "playwright-core";
import chromiumFlags from "../scripts/chromium-flags.cjs";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SHARED_ASSETS = resolve(REPO, "../shared/assets");

const { CHROMIUM_BIN, CHROMIUM_FLAGS } = chromiumFlags;

function wgsl() {
    return {
        name: "wgsl",
        transform(code, id) {
            if (!id.endsWith(".wgsl")) return null;
            return { code: `export default ${JSON.stringify(code)};`, map: { mappings: "" } };
        },
    };
}

/** Bundles `entry` (repo-relative .ts) into build/pages/<name>.js and writes build/pages/<name>.html loading it. */
export async function bundlePage(entry, name) {
    const bundle = await rollup({
        input: join(REPO, entry),
        plugins: [
            wgsl(),
            nodeResolve({ browser: true }),
            // tsconfig.json's options, with bench/ in the program too (the repo's tsconfigs cover src/ and test/).
            typescript({
                tsconfig: false,
                compilerOptions: {
                    target: "ES2022",
                    module: "ESNext",
                    moduleResolution: "Bundler",
                    lib: ["ES2022", "DOM", "DOM.Iterable", "WebWorker"],
                    types: ["@webgpu/types"],
                    strict: true,
                    skipLibCheck: true,
                    esModuleInterop: true,
                    resolveJsonModule: true,
                    isolatedModules: true,
                    sourceMap: false,
                },
                include: ["src/**/*.ts", "bench/**/*.ts", "test/golden/parityRender.ts", "test/golden/parityPage.ts", "test/support/seededRandom.ts"],
                filterRoot: REPO,
                outputToFilesystem: false,
            }),
        ],
        onwarn(warning, warn) {
            if (warning.code === "CIRCULAR_DEPENDENCY" || warning.code === "THIS_IS_UNDEFINED") return; // Babylon's own
            warn(warning);
        },
    });
    const outDir = join(REPO, "build", "pages");
    await mkdir(outDir, { recursive: true });
    await bundle.write({ file: join(outDir, `${name}.js`), format: "es", inlineDynamicImports: true });
    await bundle.close();
    await writeFile(join(outDir, `${name}.html`), `<!doctype html><meta charset="utf-8"><title>${name}</title><body><script type="module" src="./${name}.js"></script></body>\n`);
    return `/build/pages/${name}.html`;
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".wasm": "application/wasm" };

/** Serves the repo at / and ../shared/assets at /assets/ on an ephemeral localhost port. */
export async function serveRepo() {
    const server = createServer(async (req, res) => {
        try {
            const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
            const file = path.startsWith("/assets/") ? join(SHARED_ASSETS, path.slice("/assets/".length)) : join(REPO, path);
            if (!file.startsWith(REPO) && !file.startsWith(SHARED_ASSETS)) throw new Error("outside the served roots");
            if (!(await stat(file)).isFile()) throw new Error("not a file");
            res.writeHead(200, {
                "Content-Type": MIME[extname(file)] ?? "application/octet-stream",
                "Cross-Origin-Opener-Policy": "same-origin",
                "Cross-Origin-Embedder-Policy": "require-corp",
            });
            res.end(await readFile(file));
        } catch {
            res.writeHead(404);
            res.end();
        }
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    return { server, origin: `http://localhost:${server.address().port}` };
}

/** Opens `pagePath` in Chromium with WebGPU; returns { page, close() }. The page's console goes to stderr. */
export async function openPage(origin, pagePath) {
    // --enable-webgpu-developer-features: timestamp queries at full resolution (Chromium otherwise rounds them to
    // 100 us); it changes nothing in rendering.
    const browser = await chromium.launch({ executablePath: CHROMIUM_BIN, headless: true, args: [...CHROMIUM_FLAGS, "--enable-webgpu-developer-features"] });
    const page = await browser.newPage();
    page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
    page.on("pageerror", (e) => process.stderr.write(`[page error] ${e.message}\n`));
    await page.goto(`${origin}${pagePath}`);
    await page.waitForFunction(() => globalThis.pageReady === true, null, { timeout: 60000 });
    return { page, browser, close: () => browser.close() };
}

/** Decodes a base64 string from the page into bytes. */
export function fromBase64(text) {
    return new Uint8Array(Buffer.from(text, "base64"));
}
