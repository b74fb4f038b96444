/**
 * Bit-level conversions between float32 and the 16-bit float formats.
 *
 * Kiln exports float16/bfloat16 tensors as float32 values (`toTypedArray()`), and imports them
 * from float32 values, because the engine has no raw-bits view of half tensors. Widening a
 * 16-bit float to float32 is exact, and every value that came from a 16-bit float narrows back
 * to the same 16 bits, so these conversions (done here on the raw 32-bit patterns, never
 * through JS numbers, which may canonicalise NaNs) make the safetensors bytes exact for every
 * non-NaN value. NaNs stay NaN, but their sign and payload pass through the engine's float32 ↔
 * half casts, which do not keep them (see the note in safetensors.ts).
 *
 * float16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. bfloat16: the top 16 bits of a float32.
 */

/** float16 bits → float32 bits (exact). */
export function float16BitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // ±inf, NaN
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0; // 112 = 127 - 15
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal: mantissa × 2^-24 = 1.f × 2^(p - 24), p the position of the leading bit.
  const p = 31 - Math.clz32(mantissa);
  return (sign | ((p + 103) << 23) | ((mantissa << (23 - p)) & 0x7fffff)) >>> 0;
}

/** float32 bits → float16 bits, rounding to nearest even (exact for values that are float16). */
export function float32BitsToFloat16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13); // NaN stays quiet NaN
  const e = exponent - 112; // the float16 exponent field, before range checks
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ±inf
  if (e <= 0) {
    // float16 subnormal (or zero): the value in units of 2^-24, rounded.
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    if (shift > 24) return sign;
    return sign | roundShift(full, shift);
  }
  return sign + roundShift((e << 23) | mantissa, 13); // a carry into the exponent is correct rounding
}

/** bfloat16 bits → float32 bits (exact). */
export function bfloat16BitsToFloat32Bits(b: number): number {
  return (b << 16) >>> 0;
}

/** float32 bits → bfloat16 bits, rounding to nearest even (exact for values that are bfloat16). */
export function float32BitsToBfloat16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff; // quiet NaN
  return roundShift(f >>> 0, 16) & 0xffff;
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const quotient = Math.floor(value / 2 ** shift);
  const remainder = value - quotient * 2 ** shift;
  const half = 2 ** (shift - 1);
  return remainder > half || (remainder === half && (quotient & 1) === 1) ? quotient + 1 : quotient;
}
