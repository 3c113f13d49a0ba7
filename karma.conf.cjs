// Karma in Debian's Chromium with WebGPU on SwiftShader. The flags (scripts/chromium-flags.cjs) are the verified set from
// ../shared/ENVIRONMENT.md: without the Vulkan/SwiftShader ones the first frame loses the device.
// The launcher is based on "Chrome" (not "ChromeHeadless", which adds --disable-gpu).
const path = require("node:path");

const sharedAssets = path.resolve(__dirname, "../shared/assets");

const { CHROMIUM_BIN, CHROMIUM_FLAGS } = require("./scripts/chromium-flags.cjs");
const chromiumFlags = ["--headless=new", ...CHROMIUM_FLAGS];
process.env.CHROME_BIN = CHROMIUM_BIN;

/** Ends the run with one plain summary line, "karma: N passed, N failed, N skipped", that CI reads. */
function SummaryReporter(baseReporterDecorator) {
    baseReporterDecorator(this);
    let passed = 0, failed = 0, skipped = 0;
    const failures = [];
    this.onSpecComplete = (_browser, result) => {
        if (result.skipped || result.pending) skipped++;
        else if (result.success) passed++;
        else {
            failed++;
            const first = String(result.log[0] ?? "").split("\n").slice(0, 6).join("\n    ");
            failures.push(`FAILED ${result.suite.join(" > ")} > ${result.description}\n    ${first}`);
        }
    };
    this.onRunComplete = (_browsers, results) => {
        if (results.error && failed === 0) failed = 1; // a load error or disconnect is a failure too
        // The failures again, next to the summary: CI logs are often cut to their tail.
        for (const failure of failures) this.write(`\n${failure}\n`);
        this.write(`\nkarma: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    };
}
SummaryReporter.$inject = ["baseReporterDecorator"];

module.exports = function (config) {
    config.set({
        basePath: __dirname,
        frameworks: ["jasmine"],
        files: [
            { pattern: "build/test/specs.js", type: "module", watched: false },
            { pattern: "build/test/**/*.*", included: false, served: true, watched: false },
            // nocache: serve data files straight from disk. Cached files go through karma's preprocessor, which
            // sniffs content and decodes anything with a text-looking start (a PLY's ASCII header) as UTF-8,
            // corrupting its binary body (a 209 KB PLY arrived as 354 KB of U+FFFD).
            { pattern: "models/**/*.*", included: false, served: true, watched: false, nocache: true },
            { pattern: "test/fixtures/**/*.*", included: false, served: true, watched: false, nocache: true },
            { pattern: "test/golden/**/*.*", included: false, served: true, watched: false, nocache: true },
            // The @adobe/spz WASM module (devDependency), served for the SPZ v4 spec: the library never downloads it.
            { pattern: "node_modules/@adobe/spz/dist/spz.js", included: false, served: true, watched: false, nocache: true },
            { pattern: path.join(sharedAssets, "splats/**/*.*"), included: false, served: true, watched: false, nocache: true },
        ],
        // Specs fetch shared assets as /assets/..., whatever the checkout's absolute path is.
        proxies: { "/assets/": `/absolute${sharedAssets}/` },
        // Cross-origin isolation: multi-threaded wasm (onnxruntime-web) needs SharedArrayBuffer.
        customHeaders: [
            { match: ".*", name: "Cross-Origin-Opener-Policy", value: "same-origin" },
            { match: ".*", name: "Cross-Origin-Embedder-Policy", value: "require-corp" },
        ],
        browsers: ["ChromiumWebGPU"],
        customLaunchers: { ChromiumWebGPU: { base: "Chrome", flags: chromiumFlags } },
        client: { jasmine: { random: false, timeoutInterval: 120000 } },
        browserNoActivityTimeout: 600000,
        browserDisconnectTimeout: 60000,
        captureTimeout: 120000,
        plugins: ["karma-jasmine", "karma-chrome-launcher", { "reporter:summary": ["type", SummaryReporter] }],
        reporters: ["dots", "summary"],
        singleRun: true,
        concurrency: 1,
    });
};
