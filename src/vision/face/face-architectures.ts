/** The face-api networks Kiln imports, by the name `kiln import tfjs --arch` takes (no engine import: the CLI's help reads it). */
export const FACE_ARCHITECTURES = ['tiny-face-detector', 'ssd-mobilenetv1', 'face-landmark-68', 'face-recognition'] as const;
export type FaceArchitecture = (typeof FACE_ARCHITECTURES)[number];
