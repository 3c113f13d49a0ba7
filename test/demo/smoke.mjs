#!/usr/bin/env node
// The demo's headless smoke test (part of `npm test`): starts scripts/demo-server.mjs on a free port, opens the
// demo in Debian's Chromium (playwright-core, the WebGPU flags of karma.conf.cjs) in ?test mode (frames rendered
// on demand: SwiftShader does not throttle requestAnimationFrame), and checks what a person would see:
//   - the scene loads and the 3D canvas shows it (lit pixels) before its features are encoded (?holdEncode); the
//     RGB-only fallback model segments it meanwhile, the full model once the features are ready (HUD says which);
//     the feature view draws a picture (lit pixels);
//   - without shipped models: the message that segmentation needs them; with them: the first segmentation, a click
//     on a known object of the showcase room (the ceiling in the start view) labelled with its class;
//   - a malformed file loaded through the file input: an error naming it, and the previous scene still renders;
//     then an SPZ v4 file through the same input (the demo's own copy of the @adobe/spz module);
//   - the segmentation UI with the test fixture model on the parity scene (K=8): first segmentation, legend, HUD,
//     overlay, a click labelled with the class map's class; what entering / leaving WebXR does to the labels (billboard
//     meshes in XR, HTML outside) and the overlay (off in XR), through the page's XR hook (no headset here);
//   - the no-WebGPU path (?webgl): the message saying what still works, and the scene rendering with WebGL2.
// Keeps a screenshot (canvas.toDataURL, feature view composited in) in test-artifacts/demo.png.
// Ends with "demo: N passed, N failed" and a non-zero exit status on any failure.
//
//     node test/demo/smoke.mjs                 # needs build/demo (npx rollup -c --environment BUILD:demo)
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import chromiumFlags from "../../scripts/chromium-flags.cjs";
import { REPO, startDemoServer } from "../../scripts/demo-server.mjs";

const { CHROMIUM_BIN, CHROMIUM_FLAGS } = chromiumFlags;
/**
 * The showcase room's start view at 640x480: the ceiling covers this point (docs/images/showcase.png, ground truth).
 * A class the shipped model gets right on unseen rooms (test IoU 85-89; models/MODEL_CARD.md). Not the sofa in the
 * foreground: models have labelled parts of it chair and wall (sofa IoU 17.8 at 640x480), the model's failing, not the demo's. Not the window:
 * its glass is mostly uncovered (alpha < 0.5), so a click there finds no Gaussian.
 */
const KNOWN_OBJECT = { x: 0.62, y: 0.06, className: "ceiling" };
const WIDTH = 640;
const HEIGHT = 480;
const PAGE_TIMEOUT_MS = 240000;

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
    return ok;
}

async function openDemo(browser, url) {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    page.on("console", (m) => {
        // SwiftShader's GL performance notes ("GPU stall due to ReadPixels") are noise here.
        if ((m.type() === "error" || m.type() === "warning") && !m.text().includes("GL Driver Message")) process.stderr.write(`[page ${m.type()}] ${m.text()}\n`);
    });
    page.on("pageerror", (e) => process.stderr.write(`[page error] ${e.message}\n`));
    await page.goto(url);
    await page.waitForFunction(() => globalThis.__demo || globalThis.__demoFailed, null, { timeout: PAGE_TIMEOUT_MS });
    const failure = await page.evaluate(() => globalThis.__demoFailed ?? null);
    if (failure) throw new Error(`the demo failed to start: ${failure}`);
    await page.evaluate(() => globalThis.__demo.ready);
    return page;
}

async function dismissMessages(page) {
    await page.evaluate(() => document.querySelectorAll("#messages .message button.close").forEach((b) => b.click()));
}

async function mainFlow(browser, url) {
    // ?holdEncode: the Gaussian encoder starts only at __demo.releaseEncode(), so the time before the features are
    // ready is the test's to look at, however fast the encode is on the day.
    const page = await openDemo(browser, `${url}?test&holdEncode`);
    let state = await page.evaluate(() => globalThis.__demo.state());
    console.log(`scene ${state.scene}: ${state.gaussians} Gaussians, features ${state.featureSource} K=${state.featureDimension}, WebGPU ${state.webgpu}`);
    check("WebGPU engine in use", state.webgpu);
    check("the showcase room is the default scene", /showcase\.ply$/.test(state.scene ?? ""), state.scene);
    // Issue 17 item 2: the scene shows at once, before its features are computed.
    check("the scene is shown while its features are still to be encoded", state.featureSource === "encoding" && state.featureDimension === 0, `features ${state.featureSource} K=${state.featureDimension}`);
    const canvas = await page.evaluate(() => globalThis.__demo.canvasPixels());
    check("the 3D canvas shows the scene", canvas.lit > 0.2 * canvas.total, `${canvas.lit} of ${canvas.total} pixels lit`);

    const segmented = await page.evaluate(() => globalThis.__demo.segmentationReady());
    state = await page.evaluate(() => globalThis.__demo.state());
    // The repository ships models (models/manifest.json): the demo must segment with them. (Without models the page
    // explains what still works: noModelsFlow.)
    const shipsModels = existsSync(join(REPO, "models", "manifest.json"));
    const shipsFallback = shipsModels && JSON.parse(await readFile(join(REPO, "models", "manifest.json"), "utf8")).models.some((m) => m.kind === "vdvi-rgb");
    if (shipsFallback) {
        // The RGB-only fallback answers while the features are not ready, and the HUD says so.
        check(
            "before the features are ready, the RGB-only fallback model segments the scene (HUD says so)",
            segmented && state.featureSource === "encoding" && state.modelKind === "vdvi-rgb" && /model vdvi-rgb \(RGB-only fallback\)/.test(state.hud),
            `segmented ${segmented}, features ${state.featureSource}, model ${state.modelKind}\n${state.hud}`
        );
    }
    await page.evaluate(() => globalThis.__demo.releaseEncode());
    const source = await page.evaluate(() => globalThis.__demo.featuresReady());
    state = await page.evaluate(() => globalThis.__demo.state());
    check("the Gaussian encoder gives the features once released", source === "encoder" && state.featureDimension > 0, `${source} K=${state.featureDimension} ${JSON.stringify(state.messages)}`);
    // the scene frame on the HUD (docs/FRAME.md): the canonical showcase room is found +Y up, untilted, near 1 m a unit
    check("the HUD shows the estimated scene frame", /frame\s+up \+Y \(tilt 0 deg\), 1 unit = (0\.9\d*|1\.0\d*|1) m, floor -?\d+\.\d\d, confidence \d\.\d\d/.test(state.hud), state.hud);
    await page.evaluate(() => globalThis.__demo.featureViewDrawn());
    const view = await page.evaluate(() => globalThis.__demo.featureViewPixels());
    check("the feature view rendered a picture of the features", view.lit > 0.2 * view.total, `${view.lit} of ${view.total} pixels lit`);
    if (shipsFallback && segmented) {
        // then the full model takes over by itself
        const full = await page.evaluate(() => globalThis.__demo.segmentationBy("vdvi"));
        state = await page.evaluate(() => globalThis.__demo.state());
        check(
            "once the features are ready, the full model segments (HUD says so)",
            full?.modelKind === "vdvi" && state.modelKind === "vdvi" && /model vdvi \(rgb \+ features\)/.test(state.hud),
            `${JSON.stringify(full)} model ${state.modelKind}\n${state.hud}`
        );
    }
    if (!segmented && shipsModels) {
        check("first segmentation with the shipped models", false, JSON.stringify(state.messages));
    } else if (segmented) {
        await dismissMessages(page);
        check("first segmentation with the shipped models", state.segmentation && state.legend.length > 0, `legend: ${state.legend.join(", ")}`);
        await page.mouse.click(WIDTH * KNOWN_OBJECT.x, HEIGHT * KNOWN_OBJECT.y);
        const pick = await page.evaluate(() => globalThis.__demo.lastPick());
        check(`a click on the ${KNOWN_OBJECT.className} is labelled "${KNOWN_OBJECT.className}"`, pick?.className === KNOWN_OBJECT.className, `${JSON.stringify(pick)} ${JSON.stringify((await page.evaluate(() => globalThis.__demo.state())).messages)}`);
        state = await page.evaluate(() => globalThis.__demo.state());
        check("the label is on the page", state.labels.some((l) => l.startsWith(KNOWN_OBJECT.className)), state.labels.join(" | "));
        // The README's picture: the overlay and the labels mode on, as a person would switch them on.
        check("the overlay switches on", await page.evaluate(() => globalThis.__demo.setOverlay(true)));
        await page.click("#labels-toggle");
        state = await page.evaluate(() => globalThis.__demo.state());
        await page.evaluate(() => globalThis.__demo.renderFrames(3)); // the overlay's texture is uploaded and shown
        check("the labels mode labels the objects in view with classes of the legend", state.labels.length > 1 && state.labels.slice(1).every((l) => state.legend.includes(l)), `${state.labels.join(" | ")} (legend: ${state.legend.join(", ")})`);
    }
    console.log(state.hud);

    const png = await page.evaluate(() => globalThis.__demo.screenshot());
    await mkdir(join(REPO, "test-artifacts"), { recursive: true });
    const shot = join(REPO, "test-artifacts", "demo.png");
    await writeFile(shot, Buffer.from(png.replace(/^data:image\/png;base64,/, ""), "base64"));
    check("screenshot kept", png.startsWith("data:image/png;base64,") && png.length > 10000, `${shot} (${png.length} chars)`);
    // What a person sees: the whole page as the browser composes it (panels, messages, any veil), not only the canvas.
    await page.screenshot({ path: join(REPO, "test-artifacts", "demo-page.png"), fullPage: true });
    const hint = await page.evaluate(() => {
        const el = document.getElementById("drop-hint");
        const box = el.getBoundingClientRect();
        return { display: getComputedStyle(el).display, width: box.width, height: box.height };
    });
    check("the drop hint is not shown on the page (hidden attribute wins over its CSS)", hint.display === "none" && hint.width === 0 && !(await page.locator("#drop-hint").isVisible()), JSON.stringify(hint));
    // 800 px wide: the HUD must not cover the toolbar
    await page.setViewportSize({ width: 800, height: 600 });
    await page.evaluate(() => globalThis.__demo.renderFrames(1));
    await new Promise((r) => setTimeout(r, 400)); // the HUD refreshes every 250 ms
    const boxes = await page.evaluate(() => {
        const r = (id) => { const b = document.getElementById(id).getBoundingClientRect(); return { left: b.left, right: b.right, top: b.top, bottom: b.bottom }; };
        return { hud: r("hud"), toolbar: r("toolbar") };
    });
    const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    check("at 800 px wide the HUD does not cover the toolbar", !overlaps(boxes.hud, boxes.toolbar), JSON.stringify(boxes));
    await page.screenshot({ path: join(REPO, "test-artifacts", "demo-page-800.png"), fullPage: true });
    await page.setViewportSize({ width: WIDTH, height: HEIGHT });
    await page.evaluate(() => globalThis.__demo.renderFrames(1));

    // A malformed file: truncated PLY whose header promises more vertices than the data holds.
    const header = "ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\nproperty float y\nproperty float z\nproperty float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\nproperty float opacity\nproperty float scale_0\nproperty float scale_1\nproperty float scale_2\nproperty float rot_0\nproperty float rot_1\nproperty float rot_2\nproperty float rot_3\nend_header\n";
    const broken = Buffer.concat([Buffer.from(header, "ascii"), Buffer.alloc(100)]);
    const before = state.scene;
    const meshesBefore = state.meshesInScene;
    await page.setInputFiles("#file-input", { name: "broken.ply", mimeType: "application/octet-stream", buffer: broken });
    const loaded = await page.evaluate(() => globalThis.__demo.lastLoad());
    state = await page.evaluate(() => globalThis.__demo.state());
    const error = state.messages.find((m) => m.kind === "error" && m.text.includes("broken.ply"));
    check("a malformed file is refused with an error naming it", !loaded && !!error, error?.text ?? JSON.stringify(state.messages));
    check("the previous scene stays loaded, and nothing of the refused file", state.scene === before && state.meshesInScene === meshesBefore, `${state.scene}, meshes ${JSON.stringify(await page.evaluate(() => globalThis.__demo.meshNames()))}`);
    const after = await page.evaluate(() => globalThis.__demo.canvasPixels());
    check("the previous scene still renders", after.lit > 0.2 * after.total, `${after.lit} of ${after.total} pixels lit`);

    // An SPZ v4 file (zstd streams): the demo names its own copy of the @adobe/spz module (build/demo/vendor/).
    const v4 = await readFile(join(REPO, "..", "shared", "assets", "splats", "fixtures", "minimal-v4.spz"));
    await page.setInputFiles("#file-input", { name: "minimal-v4.spz", mimeType: "application/octet-stream", buffer: v4 });
    const v4Loaded = await page.evaluate(() => globalThis.__demo.lastLoad());
    state = await page.evaluate(() => globalThis.__demo.state());
    check("an SPZ v4 file loads through the file input", v4Loaded && state.scene.endsWith("minimal-v4.spz"), `${state.scene} ${JSON.stringify(state.messages.filter((m) => m.kind === "error"))}`);

    // A SOG meta.json through the picker cannot work (its .webp images do not come with it): a clear message says why
    // and what to do instead, and the scene stays.
    await page.setInputFiles("#file-input", { name: "meta.json", mimeType: "application/json", buffer: Buffer.from('{"version":2}') });
    const metaLoaded = await page.evaluate(() => globalThis.__demo.lastLoad());
    state = await page.evaluate(() => globalThis.__demo.state());
    const metaError = state.messages.find((m) => m.kind === "error" && m.text.includes("meta.json"));
    check("a SOG meta.json from the picker: a message says why it cannot load and what to open instead", !metaLoaded && !!metaError && /\.sog/.test(metaError.text) && /\?scene=/.test(metaError.text), metaError?.text ?? JSON.stringify(state.messages));
    await page.close();
}

/** The segmentation UI with the test fixtures (the parity scene's K=8 features, the tiny K=8 VDVI fixture model):
 *  exercises model loading, the pipeline, legend, overlay, click-to-label and the HUD before the real models exist. */
async function fixtureModelFlow(browser, url) {
    const page = await openDemo(browser, `${url}?test&scene=parity&models=../test/fixtures/models/`);
    const segmented = await page.evaluate(() => globalThis.__demo.segmentationReady());
    let state = await page.evaluate(() => globalThis.__demo.state());
    check("fixture model: the first segmentation arrives", segmented && state.segmentation, JSON.stringify(state.messages));
    if (!segmented) return page.close();
    check("fixture model: the legend lists the classes in view", state.legend.length > 0, state.legend.join(", "));
    check("fixture model: the HUD shows the execution provider and stage times", /segment\s+(wasm|webgpu)/.test(state.hud) && /infer \d+/.test(state.hud), state.hud);
    // "auto" (the demo's default) on SwiftShader: wasm, because the adapter is a software one (issue 15)
    check("fixture model: 'auto' ran the model on wasm on SwiftShader and the HUD says why", /segment\s+wasm/.test(state.hud) && /ep: auto: wasm, the WebGPU adapter is a software one/.test(state.hud), state.hud);
    check("fixture model: each class map is lifted onto the Gaussians (HUD)", /lifting\s+[1-9]\d* views, last voted [1-9]/.test(state.hud), state.hud);
    // The overlay is on from the first segmentation (issue 15: off by default, the first segmentation showed nothing).
    check("fixture model: the overlay is on by default", state.overlay && (await page.evaluate(() => document.getElementById("overlay-toggle").checked)), `overlay ${state.overlay}`);
    check("fixture model: the labels button's tooltip says what it does, truthfully", await page.evaluate(() => { const t = document.getElementById("labels-toggle").title; return /connected region/.test(t) && !/not built/.test(t); }));
    check("fixture model: the overlay switches on", await page.evaluate(() => globalThis.__demo.setOverlay(true)));
    await dismissMessages(page);
    const target = await page.evaluate(() => globalThis.__demo.coveredPoint());
    await page.mouse.click(target.x, target.y);
    const pick = await page.evaluate(() => globalThis.__demo.lastPick());
    state = await page.evaluate(() => globalThis.__demo.state());
    check(
        "fixture model: a click is labelled with the class map's class and a confidence",
        pick?.className === target.className && pick.confidence > 0 && pick.confidence <= 1 && state.labels.some((l) => l.startsWith(target.className)),
        `clicked ${target.className}, got ${JSON.stringify(pick)}, labels ${state.labels.join(" | ")}`
    );
    const legendClasses = state.legend;
    const toggle = await page.evaluate(() => {
        const button = document.getElementById("labels-toggle");
        const box = button.getBoundingClientRect();
        const onTop = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return { disabled: button.disabled, x: box.left + box.width / 2, y: box.top + box.height / 2, onTop: onTop?.id || onTop?.tagName };
    });
    if (!check("fixture model: the labels button is enabled and clickable", !toggle.disabled && toggle.onTop === "labels-toggle", JSON.stringify(toggle))) return page.close();
    await page.mouse.click(toggle.x, toggle.y);
    state = await page.evaluate(() => globalThis.__demo.state());
    const regionLabels = state.labels.slice(1); // the first is the click's
    check(
        "fixture model: the labels mode places labels of classes in view",
        regionLabels.length > 0 && regionLabels.every((l) => legendClasses.includes(l)),
        `${regionLabels.join(" | ")} (legend: ${legendClasses.join(", ")})`
    );
    const png = await page.evaluate(() => globalThis.__demo.screenshot());
    await writeFile(join(REPO, "test-artifacts", "demo-fixture-model.png"), Buffer.from(png.replace(/^data:image\/png;base64,/, ""), "base64"));
    // WebXR without a headset: what entering a session does (the page's XR hook) turns every label into a billboard
    // mesh and the overlay off; leaving shows the HTML labels and the overlay again.
    const htmlShownBefore = await page.evaluate(() => Array.from(document.querySelectorAll(".label3d")).filter((l) => !l.hidden).length);
    const inXR = await page.evaluate(() => globalThis.__demo.simulateXR(true));
    check(
        "fixture model: in XR every label is a shown billboard mesh, no HTML label is shown, the overlay is off",
        inXR.billboards.join(" | ") === state.labels.join(" | ") && inXR.billboardsShown === state.labels.length && inXR.htmlShown === 0 && !inXR.overlay,
        JSON.stringify(inXR)
    );
    const xrPng = await page.evaluate(() => globalThis.__demo.screenshot());
    await writeFile(join(REPO, "test-artifacts", "demo-fixture-model-xr-labels.png"), Buffer.from(xrPng.replace(/^data:image\/png;base64,/, ""), "base64"));
    const leftXR = await page.evaluate(() => globalThis.__demo.simulateXR(false));
    check(
        "fixture model: leaving XR hides the meshes, shows the HTML labels and the overlay again",
        leftXR.billboardsShown === 0 && leftXR.htmlShown === htmlShownBefore && leftXR.overlay,
        `${JSON.stringify(leftXR)} (HTML labels shown before: ${htmlShownBefore})`
    );
    await page.close();
}

/** Without models (a models folder with no manifest, `?models=`): the page says what still works, and a click
 *  explains that labels need segmentation. */
async function noModelsFlow(browser, url) {
    const page = await openDemo(browser, `${url}?test&models=./no-models-here/`);
    const segmented = await page.evaluate(() => globalThis.__demo.segmentationReady());
    let state = await page.evaluate(() => globalThis.__demo.state());
    check("without models: no segmentation", !segmented && !state.segmentation, JSON.stringify(state.messages));
    const message = state.messages.find((m) => /Segmentation needs the shipped models/.test(m.text));
    check("without models: a message says segmentation needs them and what still works", !!message && /What works now/.test(message.text), message?.text ?? JSON.stringify(state.messages));
    await dismissMessages(page); // as a person would: the messages sit over the lower left of the view
    await page.mouse.click(WIDTH * KNOWN_OBJECT.x, HEIGHT * KNOWN_OBJECT.y);
    await page.evaluate(() => globalThis.__demo.lastPick());
    state = await page.evaluate(() => globalThis.__demo.state());
    check("without models: a click explains that labels need segmentation", state.messages.some((m) => /Click-to-label needs segmentation/.test(m.text)));
    await page.close();
}

/** The normal mode (Babylon's render loop, no ?test): the worker answers and the first segmentation arrives while the
 *  loop runs (issue 15: it never did on SwiftShader, "worker start (init) got no answer"). */
async function renderLoopFlow(browser, url) {
    const page = await openDemo(browser, `${url}?scene=parity&models=../test/fixtures/models/`);
    const segmented = await page.evaluate(() => globalThis.__demo.segmentationReady());
    const state = await page.evaluate(() => globalThis.__demo.state());
    check("render loop mode: the first segmentation arrives with the loop running", segmented && state.segmentation, JSON.stringify(state.messages));
    check("render loop mode: the HUD shows the execution provider and why", /segment\s+wasm/.test(state.hud) && /ep: auto: wasm/.test(state.hud), state.hud);
    const canvas = await page.evaluate(() => globalThis.__demo.canvasPixels());
    check("render loop mode: the scene renders", canvas.lit > 0.2 * canvas.total, `${canvas.lit} of ${canvas.total} pixels lit`);
    await page.screenshot({ path: join(REPO, "test-artifacts", "demo-render-loop.png"), fullPage: true });
    await page.close();
}

async function noWebGPUFlow(browser, url) {
    const page = await openDemo(browser, `${url}?test&webgl`);
    const state = await page.evaluate(() => globalThis.__demo.state());
    const message = state.messages.find((m) => /WebGPU is not available/.test(m.text));
    check("without WebGPU: a message says what still works", !!message && /What still works/.test(message.text), message?.text ?? JSON.stringify(state.messages));
    const canvas = await page.evaluate(() => globalThis.__demo.canvasPixels());
    check("without WebGPU: the scene still renders (WebGL2)", !state.webgpu && canvas.lit > 0.2 * canvas.total, `${canvas.lit} of ${canvas.total} pixels lit`);
    await page.close();
}

async function main() {
    if (!existsSync(join(REPO, "build", "demo", "main.js"))) throw new Error("build/demo/main.js is missing: run `npx rollup -c --environment BUILD:demo` first");
    const { server, url } = await startDemoServer(0);
    const browser = await chromium.launch({ executablePath: CHROMIUM_BIN, headless: true, args: CHROMIUM_FLAGS });
    try {
        for (const flow of [mainFlow, noModelsFlow, fixtureModelFlow, renderLoopFlow, noWebGPUFlow]) {
            try {
                await flow(browser, url);
            } catch (e) {
                check(`${flow.name} ran to the end`, false, e instanceof Error ? e.stack ?? e.message : String(e));
            }
        }
    } finally {
        await browser.close();
        server.close();
    }
}

main()
    .catch((e) => check("smoke test setup", false, e instanceof Error ? e.message : String(e)))
    .finally(() => {
        console.log(`demo: ${passed} passed, ${failed} failed`);
        process.exit(failed === 0 && passed > 0 ? 0 : 1);
    });
