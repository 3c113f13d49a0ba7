// A first class pick in a new app, against the installed package: README.md's quick start is this file's code (examples/README.md; built and run by scripts/test-examples.mjs).
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { ArcRotateCamera } from "@babylonjs/core/Cameras/arcRotateCamera";
import { SemanticSplatting } from "babylon-semantic-splatting";

const canvas = document.getElementById("view");
const engine = new WebGPUEngine(canvas);
await engine.initAsync();
const scene = new Scene(engine);
const camera = new ArcRotateCamera("camera", -Math.PI / 2, Math.PI / 2, 3, null, scene);
engine.runRenderLoop(() => scene.render());
const semantic = await SemanticSplatting.CreateAsync(scene, "scene.ply", { assetsUrl: "semantic/" });
camera.zoomOn([semantic.mesh]);
await semantic.whenReadyAsync();
window.firstPick = scene.pick(canvas.width / 2, canvas.height / 2).semantic?.className ?? "none";
