/**
 * GLSL of the 16-bit viewer. Constants mirror the service's imaging library so the shader and the 8-bit pyramids
 * agree:
 * - libs/imaging/src/display.ts: grey = 255 · (1 − A / ln 1500), A = ln(air / value) (DISPLAY_MAX_ATTENUATION);
 * - libs/imaging/src/material-map.ts: R = ln(air/low) / ln(air/high); organic R ≥ 1.24 (orange 255,140,0), mixed
 *   1.12 ≤ R < 1.24 (green 40,180,40), metal R < 1.12 (blue 40,90,255); classified only where
 *   0.08 ≤ A_high ≤ 5.5 and low ≥ 60 (MIN_ATTENUATION, MAX_ATTENUATION, MIN_SIGNAL); brightness from the grey
 *   value: white → colour at mid grey → black.
 */
export const DISPLAY_MAX_ATTENUATION = Math.log(1500);
export const MATERIAL_RATIO_THRESHOLDS = { organic: 1.24, mixed: 1.12 } as const;
export const MIN_ATTENUATION = 0.08;
export const MAX_ATTENUATION = 5.5;
export const MIN_SIGNAL = 60;
export const MATERIAL_COLOURS = { organic: [255, 140, 0], mixed: [40, 180, 40], metal: [40, 90, 255] } as const;

const f = (value: number) => value.toFixed(6);
const rgb = (colour: readonly number[]) => `vec3(${colour.map((c) => f(c / 255)).join(', ')})`;

export const VERTEX_SHADER = `#version 300 es
in vec2 aCorner;
uniform vec2 uOrigin;   // element px of image pixel (0, 0)
uniform float uScale;   // element px per image px
uniform vec2 uCanvas;   // element size, css px
uniform vec4 uRect;     // tile rectangle, image px: x, y, w, h
uniform vec4 uTex;      // texture rectangle: u0, v0, du, dv
out vec2 vUv;
void main() {
  vec2 px = uOrigin + (uRect.xy + aCorner * uRect.zw) * uScale;
  vec2 clip = px / uCanvas * 2.0 - 1.0;
  gl_Position = vec4(clip.x, -clip.y, 0.0, 1.0);
  vUv = uTex.xy + aCorner * uTex.zw;
}
`;

export const FRAGMENT_SHADER = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D uHigh;
uniform highp sampler2D uLow;
uniform float uAir;
uniform float uLevel;
uniform float uWindow;
uniform float uGamma;
uniform bool uInvert;
uniform bool uMaterial;
uniform int uFilter;     // 0 every class, 1 organic, 2 mixed, 3 metal
uniform bool uEdges;
uniform bool uBand;
uniform vec2 uBandRange; // log-attenuation
in vec2 vUv;
out vec4 outColor;

const float MIN_ATT = ${f(MIN_ATTENUATION)};
const float MAX_ATT = ${f(MAX_ATTENUATION)};
const float MIN_SIGNAL = ${f(MIN_SIGNAL)};
const float RATIO_ORGANIC = ${f(MATERIAL_RATIO_THRESHOLDS.organic)};
const float RATIO_MIXED = ${f(MATERIAL_RATIO_THRESHOLDS.mixed)};
const vec3 ORGANIC = ${rgb(MATERIAL_COLOURS.organic)};
const vec3 MIXED = ${rgb(MATERIAL_COLOURS.mixed)};
const vec3 METAL = ${rgb(MATERIAL_COLOURS.metal)};

// The 16-bit value of a texel: R = high byte, G = low byte; fetched exactly (no filtering before the combine).
float value16(highp sampler2D plane, ivec2 p) {
  ivec2 size = textureSize(plane, 0);
  vec4 t = texelFetch(plane, clamp(p, ivec2(0), size - 1), 0);
  return floor(t.r * 255.0 + 0.5) * 256.0 + floor(t.g * 255.0 + 0.5);
}

float attenuation(float value) {
  return max(0.0, log(uAir / max(1.0, value)));
}

vec3 palette(vec3 base, float g) {
  return g >= 0.5 ? base + (1.0 - base) * (g - 0.5) * 2.0 : base * g * 2.0;
}

void main() {
  ivec2 size = textureSize(uHigh, 0);
  ivec2 p = ivec2(floor(vUv * vec2(size)));
  float high = value16(uHigh, p);
  float a = attenuation(high);
  float shown = a;
  if (uEdges) {
    float around = attenuation(value16(uHigh, p + ivec2(1, 0))) + attenuation(value16(uHigh, p - ivec2(1, 0)))
      + attenuation(value16(uHigh, p + ivec2(0, 1))) + attenuation(value16(uHigh, p - ivec2(0, 1)));
    shown = a + 2.0 * (a - 0.25 * around);
  }
  float g = clamp(1.0 - (shown - (uLevel - 0.5 * uWindow)) / uWindow, 0.0, 1.0);
  g = pow(g, 1.0 / uGamma);
  if (uInvert) g = 1.0 - g;
  vec3 colour = vec3(g);
  if (uMaterial) {
    float low = value16(uLow, p);
    int k = 0;
    if (a >= MIN_ATT && a <= MAX_ATT && low >= MIN_SIGNAL) {
      float al = attenuation(low);
      k = al >= RATIO_ORGANIC * a ? 1 : (al >= RATIO_MIXED * a ? 2 : 3);
    }
    if (k > 0 && (uFilter == 0 || uFilter == k)) {
      colour = palette(k == 1 ? ORGANIC : (k == 2 ? MIXED : METAL), g);
    } else if (uFilter != 0) {
      colour = vec3(0.25 + 0.5 * g);
    }
  }
  if (uBand && a >= uBandRange.x && a <= uBandRange.y) colour = mix(colour, vec3(1.0, 0.0, 1.0), 0.6);
  outColor = vec4(colour, 1.0);
}
`;
