// Counts live WebGPU textures and buffers of the page: wraps GPUDevice.createTexture/createBuffer and
// GPUTexture.destroy/GPUBuffer.destroy once. Created objects are remembered in WeakSets (so counting never keeps
// one alive); an object is live from its creation until destroy() is called on it. An object dropped without
// destroy() stays counted, which is what a leak check wants. Swap-chain textures (getCurrentTexture) are not
// created through createTexture and are not counted.

const textures = new WeakSet<GPUTexture>();
const buffers = new WeakSet<GPUBuffer>();
let liveTextures = 0;
let liveBuffers = 0;
let installed = false;

export function installGpuCounter(): void {
    if (installed) return;
    installed = true;
    const device = GPUDevice.prototype;
    const createTexture = device.createTexture;
    device.createTexture = function (this: GPUDevice, descriptor: GPUTextureDescriptor) {
        const texture = createTexture.call(this, descriptor);
        textures.add(texture);
        liveTextures++;
        return texture;
    };
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
        const buffer = createBuffer.call(this, descriptor);
        buffers.add(buffer);
        liveBuffers++;
        return buffer;
    };
    const destroyTexture = GPUTexture.prototype.destroy;
    GPUTexture.prototype.destroy = function (this: GPUTexture) {
        if (textures.delete(this)) liveTextures--;
        return destroyTexture.call(this);
    };
    const destroyBuffer = GPUBuffer.prototype.destroy;
    GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
        if (buffers.delete(this)) liveBuffers--;
        return destroyBuffer.call(this);
    };
}

/** Live (created since installGpuCounter, not destroyed) WebGPU textures and buffers of the page. */
export function liveGpuObjects(): { textures: number; buffers: number } {
    return { textures: liveTextures, buffers: liveBuffers };
}
