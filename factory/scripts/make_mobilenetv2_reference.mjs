#!/usr/bin/env node
// Records what the ORIGINAL network computes: nsfwjs' MobileNetV2 (tfjs layers model) executed by TensorFlow.js on
// fixed inputs, at the four taps VDVI reads (1/4, 1/8, 1/16, 1/32). The parity test
// (factory/tests/test_vdvi_pretrained.py) runs the PyTorch port converted by `python3 -m rtgs2.vdvi.pretrained` on
// the same inputs and compares. tfjs is not a dependency of the project; install it beside the package once:
//
//   cd factory && npm pack nsfwjs@4.4.0 --pack-destination cache/npm && mkdir -p cache/npm/nsfwjs-4.4.0 \
//     && tar xzf cache/npm/nsfwjs-4.4.0.tgz -C cache/npm/nsfwjs-4.4.0
//   mkdir -p cache/tfjs && (cd cache/tfjs && npm init -y && npm install @tensorflow/tfjs-core@4.22.0 \
//     @tensorflow/tfjs-layers@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0)
//   node scripts/make_mobilenetv2_reference.mjs --package cache/npm/nsfwjs-4.4.0/package --tfjs cache/tfjs \
//     --out tests/fixtures/mobilenetv2_reference.json
//
// The only changes made to the original: the head after block 16 (Conv_1, pooling, dense layers) is cut off with its
// weights, and the input layer's fixed 224x224 shape is relaxed to any H x W, so that the convolutional part runs on
// a small input (Keras' stride-2 padding ((0,1),(0,1)) is exact for even sizes).
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs, []));
for (const key of ["package", "tfjs", "out"]) {
  if (!args[key]) {
    console.error(`usage: node make_mobilenetv2_reference.mjs --package DIR --tfjs DIR --out FILE (missing --${key})`);
    process.exit(2);
  }
}
const requireTf = createRequire(resolve(args.tfjs, "package.json"));
const tf = requireTf("@tensorflow/tfjs-core");
requireTf("@tensorflow/tfjs-backend-cpu");
const tfl = requireTf("@tensorflow/tfjs-layers");
const requirePkg = createRequire(resolve(args.package, "package.json"));
const pkg = requirePkg("./package.json");

const MODEL_DIR = "./dist/models/mobilenet_v2";
// Keras layer names of the taps: the block outputs after blocks 2, 5, 12 (residual adds) and 16 (projection BN).
const TAPS = ["block_2_add", "block_5_add", "block_12_add", "block_16_project_BN"];
// The fixed inputs: smooth colour patterns in [0, 1] that both sides compute from the same formula (no input file).
const INPUTS = [{ height: 32, width: 32, phase: 0 }, { height: 64, width: 96, phase: 1 }];

function pattern({ height, width, phase }) {
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = Math.fround(0.5 + 0.5 * Math.sin(0.37 * y + 0.23 * (c + 1) * x + c + phase));
      }
    }
  }
  return data;
}

await tf.setBackend("cpu");
const model = requirePkg(`${MODEL_DIR}/model.min.js`);
const topology = JSON.parse(JSON.stringify(model.modelTopology));
const config = topology.model_config.config;
const lastKept = config.layers.findIndex((layer) => layer.name === TAPS[TAPS.length - 1]);
config.layers = config.layers.slice(0, lastKept + 1);
config.layers[0].config.batch_input_shape = [null, null, null, 3];
config.output_layers = [[TAPS[TAPS.length - 1], 0, 0]];
const keptLayers = new Set(config.layers.map((layer) => layer.name));
// Keep the weights of the kept layers, slicing their bytes out of the concatenated shards.
const BYTES = { uint8: 1, uint16: 2, float16: 2 };
const all = Buffer.concat(model.weightsManifest.flatMap((group) => group.paths)
  .map((p) => Buffer.from(requirePkg(`${MODEL_DIR}/${p}.min.js`), "base64")));
const weightSpecs = [];
const keptBytes = [];
let offset = 0;
for (const spec of model.weightsManifest.flatMap((group) => group.weights)) {
  const size = spec.shape.reduce((a, b) => a * b, 1) * (spec.quantization ? BYTES[spec.quantization.dtype] : 4);
  if (keptLayers.has(spec.name.split("/")[0])) {
    weightSpecs.push(spec);
    keptBytes.push(all.subarray(offset, offset + size));
  }
  offset += size;
}
if (offset !== all.length) throw new Error(`the manifest describes ${offset} bytes, the shards hold ${all.length}`);
const kept = Buffer.concat(keptBytes);
const weightData = kept.buffer.slice(kept.byteOffset, kept.byteOffset + kept.byteLength);
const full = await tfl.loadLayersModel({ load: async () => ({ modelTopology: topology, weightSpecs, weightData }) });
const tapModel = tfl.model({ inputs: full.inputs, outputs: TAPS.map((name) => full.getLayer(name).output) });

const cases = INPUTS.map((input) => {
  const x = tf.tensor4d(pattern(input), [1, input.height, input.width, 3]);
  const outs = tapModel.predict(x);
  const taps = outs.map((t, i) => ({
    layer: TAPS[i],
    shape: t.shape, // NHWC
    data: Buffer.from(t.dataSync().buffer).toString("base64"),
  }));
  return { ...input, taps };
});

writeFileSync(args.out, JSON.stringify({
  about: "nsfwjs MobileNetV2 taps computed by TensorFlow.js (factory/scripts/make_mobilenetv2_reference.mjs)",
  source: { package: pkg.name, version: pkg.version, licence: pkg.license },
  tfjs: { core: requireTf("@tensorflow/tfjs-core/package.json").version, backend: tf.getBackend() },
  input: "x[y, x, c] = float32(0.5 + 0.5 * sin(0.37 * y + 0.23 * (c + 1) * x + c + phase)), NHWC, fed as is",
  dtype: "float32 little-endian, NHWC, base64",
  cases,
}, null, 1) + "\n");
console.log(`wrote ${args.out}: ${cases.length} inputs x ${TAPS.length} taps (${pkg.name}@${pkg.version})`);
