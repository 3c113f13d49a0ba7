#!/usr/bin/env node
// A tiny static server for the demo (node only, no dependencies). Serves only what the page needs, from the
// repository: the page (demo/), its build (build/demo/: bundle, worker, onnxruntime's .wasm), the shipped models
// (models/), the fallback scene (test/golden/parity/) and the fixture models (test/fixtures/models/). Binds to localhost: WebGPU needs a secure origin, and
// http://localhost is one. Every response carries COOP/COEP so the page is cross-origin isolated (onnxruntime's
// multi-threaded wasm needs SharedArrayBuffer).
//
//     node scripts/demo-server.mjs            # port 8080, or PORT from the environment
//     PORT=0 node scripts/demo-server.mjs     # a free port
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, dirname, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** URL prefixes served, each from the same path in the repository. Anything else is 404. The test fixtures (a tiny
 *  VDVI model and the parity scene) let the smoke test drive the segmentation UI before the real models exist. */
const SERVED_PREFIXES = ["/demo/", "/build/demo/", "/models/", "/test/golden/parity/", "/test/fixtures/models/"];

const MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".map": "application/json",
    ".png": "image/png",
    ".webp": "image/webp",
    ".onnx": "application/octet-stream",
};

const ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
};

/** The repository file for a URL path, or null when the path is not served. */
function fileFor(urlPath) {
    if (!SERVED_PREFIXES.some((prefix) => urlPath.startsWith(prefix))) return null;
    const file = normalize(join(REPO, urlPath));
    if (!file.startsWith(REPO + sep)) return null; // "..", encoded or not
    return file;
}

async function handle(req, res) {
    let urlPath;
    try {
        urlPath = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    } catch {
        res.writeHead(400, ISOLATION_HEADERS).end("bad URL\n");
        return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, ISOLATION_HEADERS).end();
        return;
    }
    if (urlPath === "/" || urlPath === "/index.html" || urlPath === "/demo") {
        res.writeHead(302, { ...ISOLATION_HEADERS, Location: "/demo/" + (new URL(req.url, "http://localhost").search ?? "") }).end();
        return;
    }
    if (urlPath.endsWith("/")) urlPath += "index.html";
    const file = fileFor(urlPath);
    let info = null;
    if (file) info = await stat(file).catch(() => null);
    if (!file || !info || !info.isFile()) {
        res.writeHead(404, { ...ISOLATION_HEADERS, "Content-Type": "text/plain" }).end(`not found: ${urlPath}\n`);
        return;
    }
    res.writeHead(200, { ...ISOLATION_HEADERS, "Content-Type": MIME[extname(file)] ?? "application/octet-stream", "Content-Length": info.size });
    if (req.method === "HEAD") {
        res.end();
        return;
    }
    createReadStream(file).pipe(res);
}

/**
 * Starts the server on 127.0.0.1. `port` 0 picks a free port. Resolves `{ server, port, url }` (url of the page).
 * Rejects with a message naming the port when it is taken.
 */
export function startDemoServer(port = 8080) {
    const server = createServer((req, res) => {
        handle(req, res).catch((e) => {
            if (!res.headersSent) res.writeHead(500, ISOLATION_HEADERS);
            res.end(String(e));
        });
    });
    return new Promise((resolvePromise, reject) => {
        server.once("error", (e) => {
            reject(e.code === "EADDRINUSE" ? new Error(`port ${port} is already in use: set PORT to another port (PORT=8081 npm run demo)`) : e);
        });
        server.listen(port, "127.0.0.1", () => {
            const actual = server.address().port;
            resolvePromise({ server, port: actual, url: `http://localhost:${actual}/demo/` });
        });
    });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
    const requested = process.env.PORT ?? "8080";
    const port = Number(requested);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        console.error(`demo-server: PORT must be an integer in 0..65535, got "${requested}"`);
        process.exit(2);
    }
    startDemoServer(port).then(
        ({ url }) => {
            console.log(`Demo: ${url}`);
            console.log("Open it in a browser with WebGPU (desktop Chrome or Edge). Ctrl+C stops the server.");
        },
        (e) => {
            console.error(`demo-server: ${e.message}`);
            process.exit(1);
        }
    );
}
