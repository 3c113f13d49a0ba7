// Live WebGPU buffers created since a point in time, with their labels: the dispose spec tells the pipeline's own
// objects from Babylon's per-effect "leftOver" uniform buffers. Babylon 9.35 creates one such buffer (64-96 bytes)
// for each compiled effect and does not destroy it when a material or layer using the effect is disposed (seen
// with ShaderMaterial and Layer alike), so each created-and-disposed pipeline leaves one per effect it compiled.
let installed = false;
const live = new Map<GPUBuffer, string>();
const liveTextures = new Map<GPUTexture, string>();

export function installLabelledGpuTracker(): void {
    if (installed) return;
    installed = true;
    const createBuffer = GPUDevice.prototype.createBuffer;
    GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
        const buffer = createBuffer.call(this, descriptor);
        live.set(buffer, `${descriptor.label ?? "(no label)"} [${descriptor.size} bytes]`);
        return buffer;
    };
    const destroyBuffer = GPUBuffer.prototype.destroy;
    GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
        live.delete(this);
        return destroyBuffer.call(this);
    };
    const createTexture = GPUDevice.prototype.createTexture;
    GPUDevice.prototype.createTexture = function (this: GPUDevice, descriptor: GPUTextureDescriptor) {
        const texture = createTexture.call(this, descriptor);
        liveTextures.set(texture, descriptor.label ?? "(no label)");
        return texture;
    };
    const destroyTexture = GPUTexture.prototype.destroy;
    GPUTexture.prototype.destroy = function (this: GPUTexture) {
        liveTextures.delete(this);
        return destroyTexture.call(this);
    };
}

export interface GpuSnapshot {
    buffers: Set<GPUBuffer>;
    textures: Set<GPUTexture>;
}

export function snapshotGpuObjects(): GpuSnapshot {
    return { buffers: new Set(live.keys()), textures: new Set(liveTextures.keys()) };
}

/** Labels of the buffers and textures created after `since` and still alive. */
export function gpuObjectsCreatedSince(since: GpuSnapshot): { buffers: string[]; textures: string[] } {
    return {
        buffers: [...live].filter(([b]) => !since.buffers.has(b)).map(([, label]) => label),
        textures: [...liveTextures].filter(([t]) => !since.textures.has(t)).map(([, label]) => label),
    };
}

/** True for Babylon's per-effect uniform buffers (see the note at the top). */
export const isBabylonEffectUniformBuffer = (label: string) => /-leftOver-/.test(label);
