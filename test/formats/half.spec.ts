// fp16 <-> fp32 conversion: exact on every half, round-to-nearest-even on floats.
import { float32ToHalfBits, float32BitsToHalfBits, halfBitsToFloat32, float32ArrayToHalf, halfArrayToFloat32 } from "../../src/util/half";

describe("fp16 conversion", () => {
    it("converts known values to the IEEE bits", () => {
        expect(float32ToHalfBits(0)).toBe(0x0000);
        expect(float32ToHalfBits(-0)).toBe(0x8000);
        expect(float32ToHalfBits(1)).toBe(0x3c00);
        expect(float32ToHalfBits(-2)).toBe(0xc000);
        expect(float32ToHalfBits(0.5)).toBe(0x3800);
        expect(float32ToHalfBits(65504)).toBe(0x7bff); // largest half
        expect(float32ToHalfBits(65519)).toBe(0x7bff); // below the rounding midpoint to Inf
        expect(float32ToHalfBits(65520)).toBe(0x7c00); // midpoint rounds to even = Inf
        expect(float32ToHalfBits(1e6)).toBe(0x7c00);
        expect(float32ToHalfBits(-Infinity)).toBe(0xfc00);
        expect(float32ToHalfBits(NaN) & 0x7e00).toBe(0x7e00); // quiet NaN, never Inf
        expect(float32ToHalfBits(2 ** -14)).toBe(0x0400); // smallest normal
        expect(float32ToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
        expect(float32ToHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24: even is 0
        expect(float32ToHalfBits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 ulps: even is 2
        expect(float32ToHalfBits(1.5 * 2 ** -25)).toBe(0x0001); // above the tie: rounds up
        expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: even mantissa stays
        expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: odd mantissa rounds up
        expect(float32ToHalfBits(1 + 1023.5 / 1024)).toBe(0x4000); // tie on an odd mantissa carries into the exponent
        expect(float32ToHalfBits(1023.5 * 2 ** -24)).toBe(0x0400); // the largest subnormal rounds up to the smallest normal
    });

    it("round-trips all 65536 half bit patterns through float32 (NaNs stay NaN)", () => {
        let checked = 0;
        for (let bits = 0; bits < 65536; bits++) {
            const value = halfBitsToFloat32(bits);
            const isNaNPattern = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
            if (isNaNPattern) {
                expect(Number.isNaN(value)).toBeTrue();
                expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(value)))).toBeTrue();
                continue;
            }
            if (float32ToHalfBits(value) !== bits) fail(`bits 0x${bits.toString(16)} -> ${value} -> 0x${float32ToHalfBits(value).toString(16)}`);
            checked++;
        }
        expect(checked).toBe(65536 - 2 * 1023);
    });

    it("rounds floats to the nearest half (checked against neighbours)", () => {
        // For random floats, the chosen half is at least as close as its two neighbours.
        let seed = 7;
        const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
        for (let i = 0; i < 20000; i++) {
            const value = Math.fround((random() * 2 - 1) * 2 ** Math.floor(random() * 30 - 20));
            const bits = float32ToHalfBits(value);
            const chosen = Math.abs(halfBitsToFloat32(bits) - value);
            for (const neighbour of [bits - 1, bits + 1]) {
                if ((neighbour & 0x7fff) >= 0x7c00 || neighbour < 0 || (neighbour & 0x8000) !== (bits & 0x8000)) continue;
                expect(chosen).toBeLessThanOrEqual(Math.abs(halfBitsToFloat32(neighbour) - value));
            }
        }
    });

    it("converts float32 bits (the bulk path) to the nearest half, ties to even, at every exponent", () => {
        // Every sign and float exponent, with the mantissa endings where rounding decides (below, at and above the
        // tie, odd and even kept bits, the carry into the exponent): the result must be the nearest half, an exact
        // tie must land on the even one, and the bits path must agree with the number path.
        const floats = new Float32Array(1);
        const floatBits = new Uint32Array(floats.buffer);
        const endings = [0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x5000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7ff001, 0x7fffff, 0x400000, 0x123456];
        let checked = 0, infinite = 0;
        for (const sign of [0, 0x80000000]) {
            for (let exponent = 0; exponent < 255; exponent++) {
                for (const mantissa of endings) {
                    const bits = (sign | (exponent << 23) | mantissa) >>> 0;
                    floatBits[0] = bits;
                    const value = floats[0];
                    const half = float32BitsToHalfBits(bits);
                    expect(half).toBe(float32ToHalfBits(value));
                    if (!Number.isFinite(halfBitsToFloat32(half))) {
                        // Inf only from at least the midpoint between the largest half and 2^16
                        expect(Math.abs(value)).toBeGreaterThanOrEqual(65520);
                        infinite++;
                        continue;
                    }
                    const error = Math.abs(halfBitsToFloat32(half) - value);
                    for (const neighbour of [half - 1, half + 1]) {
                        if (neighbour < 0 || (neighbour & 0x8000) !== (half & 0x8000) || (neighbour & 0x7fff) > 0x7bff) continue;
                        const other = Math.abs(halfBitsToFloat32(neighbour) - value);
                        expect(error).toBeLessThanOrEqual(other);
                        if (error === other && error > 0) expect(half & 1).toBe(0); // a tie goes to the even half
                    }
                    checked++;
                }
            }
        }
        // every pattern was one or the other; exponents 143 and up (|x| >= 2^16) and a few at 142 give Inf
        expect(checked + infinite).toBe(2 * 255 * endings.length);
        expect(infinite).toBeGreaterThanOrEqual(2 * 112 * endings.length);
        expect(checked).toBeGreaterThan(4000);
        // NaN stays a quiet NaN
        expect(float32BitsToHalfBits(0x7f800001) & 0x7e00).toBe(0x7e00);
    });

    it("converts arrays in bulk, into given targets too", () => {
        const values = new Float32Array([0, 1, -2, 0.1, 65504, 3e-6]);
        const half = float32ArrayToHalf(values);
        expect(Array.from(half)).toEqual(Array.from(values, (v) => float32ToHalfBits(v)));
        // a Float32Array goes through its bits, a plain array through numbers: the same halves, also from a view
        expect(Array.from(float32ArrayToHalf(Array.from(values)))).toEqual(Array.from(half));
        expect(Array.from(float32ArrayToHalf(values.subarray(2)))).toEqual(Array.from(half.subarray(2)));
        const back = halfArrayToFloat32(half, new Float32Array(values.length));
        expect(Array.from(back)).toEqual(Array.from(half, (h) => halfBitsToFloat32(h)));
        expect(() => halfArrayToFloat32(half, new Float32Array(2))).toThrowError(RangeError);
    });
});
