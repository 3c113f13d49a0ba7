// The class-colour overlay: the latest class map drawn over the render as a foreground Babylon Layer (a full-screen
// quad with Babylon's own WGSL layer shader), class colours with an opacity, optionally only some classes. When
// disabled the layer and its texture do not exist: no draw, no upload, no GPU memory.
import { Constants } from "@babylonjs/core/Engines/constants";
import { Layer } from "@babylonjs/core/Layers/layer";
import { RawTexture } from "@babylonjs/core/Materials/Textures/rawTexture";
import type { Scene } from "@babylonjs/core/scene";
import type { ClassTable } from "../classes";
import { SemanticSplatError } from "../errors";

/** One legend entry: a class present in the current map. */
export interface LegendEntry {
    id: number;
    name: string;
    /** Display colour, 0..255 per channel (the class table's). */
    color: readonly [number, number, number];
    /** Map pixels with this class. */
    pixels: number;
    /** Share of the covered (not none) pixels, 0..1. */
    fraction: number;
    /** Whether the overlay shows this class (the class filter). */
    shown: boolean;
}

export interface OverlayOptions {
    /** Start enabled. Default false. */
    enabled?: boolean;
    /** Opacity of the class colours over the render, 0..1. Default 0.5. */
    opacity?: number;
    /** Class ids to show; null or absent: all. */
    classFilter?: Iterable<number> | null;
}

/** The part of a result the overlay reads. */
export interface OverlayMap {
    width: number;
    height: number;
    labels: Uint8Array;
}

export class SegmentationOverlay {
    private _enabled = false;
    private _opacity: number;
    private _filter: Set<number> | null;
    private _layer: Layer | null = null;
    private _texture: RawTexture | null = null;
    private _map: OverlayMap | null = null;
    private _rgba: Uint8Array | null = null;
    /** Texture uploads since creation (tests check that a disabled overlay uploads nothing). */
    uploads = 0;

    constructor(
        private readonly scene: Scene,
        private readonly classes: ClassTable,
        options: OverlayOptions = {}
    ) {
        this._opacity = checkOpacity(options.opacity ?? 0.5);
        this._filter = options.classFilter ? new Set(options.classFilter) : null;
        if (options.enabled) this.enabled = true;
    }

    get enabled(): boolean {
        return this._enabled;
    }
    set enabled(value: boolean) {
        if (value === this._enabled) return;
        this._enabled = value;
        if (value) this.refresh();
        else this.release();
    }

    get opacity(): number {
        return this._opacity;
    }
    set opacity(value: number) {
        this._opacity = checkOpacity(value);
        if (this._enabled) this.refresh();
    }

    /** Class ids shown, or null for all. */
    get classFilter(): ReadonlySet<number> | null {
        return this._filter;
    }
    set classFilter(ids: Iterable<number> | null) {
        this._filter = ids ? new Set(ids) : null;
        if (this._enabled) this.refresh();
    }

    /** The layer while enabled (for ordering it among other layers), else null. */
    get layer(): Layer | null {
        return this._layer;
    }

    /** The classes present in the current map with their colours and pixel counts, most frequent first. Works
     *  whether or not the overlay is enabled; empty before the first map. */
    legend(): LegendEntry[] {
        const map = this._map;
        if (!map) return [];
        const counts = new Uint32Array(256);
        for (let i = 0; i < map.labels.length; i++) counts[map.labels[i]]++;
        let covered = 0;
        for (let id = 0; id < this.classes.count; id++) covered += counts[id];
        const entries: LegendEntry[] = [];
        for (let id = 0; id < this.classes.count; id++) {
            if (!counts[id]) continue;
            const c = this.classes.byId(id)!;
            entries.push({ id, name: c.name, color: c.color, pixels: counts[id], fraction: counts[id] / covered, shown: !this._filter || this._filter.has(id) });
        }
        return entries.sort((a, b) => b.pixels - a.pixels || a.id - b.id);
    }

    /** Takes a new class map (called by the pipeline for every result); uploads it only while enabled. */
    setMap(map: OverlayMap): void {
        this._map = map;
        if (this._enabled) this.refresh();
    }

    dispose(): void {
        this.release();
        this._map = null;
    }

    private refresh(): void {
        const map = this._map;
        if (!map) return;
        // One reused staging array: filling memory already touched is cheaper on the main thread than fresh memory.
        if (this._rgba?.length !== map.width * map.height * 4) this._rgba = new Uint8Array(map.width * map.height * 4);
        const rgba = this._rgba;
        rgba.fill(0);
        const alpha = Math.round(this._opacity * 255);
        const colors = this.classes.classes;
        // Rows are written bottom first (the layer samples v = 0 at the bottom, the map's row 0 is the top), so the
        // texture needs no invertY, which Babylon's WebGPU engine does with an extra GPU pass on every update.
        const { width: W, height: H } = map;
        for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
                const id = map.labels[y * W + x];
                if (id >= colors.length || (this._filter && !this._filter.has(id))) continue; // none and hidden: transparent
                const c = colors[id].color;
                const q = 4 * ((H - 1 - y) * W + x);
                rgba[q] = c[0];
                rgba[q + 1] = c[1];
                rgba[q + 2] = c[2];
                rgba[q + 3] = alpha;
            }
        }
        if (this._texture && (this._texture.getSize().width !== map.width || this._texture.getSize().height !== map.height)) {
            this._texture.dispose();
            this._texture = null;
        }
        if (!this._texture) {
            this._texture = new RawTexture(rgba, map.width, map.height, Constants.TEXTUREFORMAT_RGBA, this.scene, false, false, Constants.TEXTURE_NEAREST_SAMPLINGMODE);
            this._texture.wrapU = Constants.TEXTURE_CLAMP_ADDRESSMODE;
            this._texture.wrapV = Constants.TEXTURE_CLAMP_ADDRESSMODE;
        } else {
            this._texture.update(rgba);
        }
        this.uploads++;
        if (!this._layer) {
            this._layer = new Layer("semanticOverlay", null, this.scene, false);
            this._layer.alphaBlendingMode = Constants.ALPHA_COMBINE;
        }
        this._layer.texture = this._texture;
    }

    private release(): void {
        if (this._layer) {
            this._layer.texture = null;
            this._layer.dispose();
            this._layer = null;
        }
        this._texture?.dispose();
        this._texture = null;
        this._rgba = null;
    }
}

function checkOpacity(value: number): number {
    if (!(value >= 0 && value <= 1)) throw new SemanticSplatError("INVALID_ARGUMENT", `overlay opacity must be in 0..1, got ${value}`);
    return value;
}
