// IEEE 754 binary16 ("half") conversion. The runtime stores per-Gaussian features as fp16 on the GPU
// (ARCHITECTURE.md contract 1); these helpers give the exact bit patterns the feature texture holds.

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** Bits of the binary16 value nearest to `value` (round to nearest, ties to even; overflow gives +-Inf). */
export function float32ToFloat16Bits(value: number): number {
    scratchFloat[0] = value;
    const x = scratchBits[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
        // Inf stays Inf; every NaN becomes a quiet NaN.
        return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: Inf
    if (halfExponent <= 0) {
        // Subnormal half (or zero): shift the mantissa with its implicit leading 1 into place.
        if (halfExponent < -10) return sign; // rounds to zero
        mantissa |= 0x800000;
        const shift = 14 - halfExponent;
        const halfMantissa = mantissa >>> shift;
        const remainder = mantissa & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
        return sign | (halfMantissa + (roundUp ? 1 : 0));
    }
    const halfMantissa = mantissa >>> 13;
    const remainder = mantissa & 0x1fff;
    const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1);
    // A carry out of the mantissa correctly bumps the exponent (and reaches Inf at the top).
    return (sign | (halfExponent << 10) | halfMantissa) + (roundUp ? 1 : 0);
}

/** The number a binary16 bit pattern stands for. */
export function float16BitsToFloat32(bits: number): number {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** True when the binary16 bit pattern is NaN or +-Inf. */
export function isFloat16NonFinite(bits: number): boolean {
    return (bits & 0x7c00) === 0x7c00;
}
