/**
 * Face network folders: config.json ({ architecture: one of FACE_ARCHITECTURES }), model.safetensors
 * (the parameters under their TensorFlow.js names, PyTorch layouts) and kiln.json (where the
 * weights came from). `kiln import tfjs --arch NAME` writes one; detect, embed and verify read it.
 */
import path from 'node:path';
import { buildWithinWeights, CONFIG_FILE, folderErrors, readConfigJson, readWeights, weightBytes, writeFolder } from '../../io/hf-folder.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { KILN_FILE, resolveModelFolder } from '../../util/run-files.js';
import { FACE_ARCHITECTURES, faceNetwork, type FaceArchitecture } from './face-nets.js';

const folderError = folderErrors('face model');

export type FaceNetwork = ReturnType<typeof faceNetwork>;

/** Writes `net` as a face model folder; `source` says where its weights came from (kiln.json). */
export function saveFaceNetwork(net: FaceNetwork, dir: string, source: string): void {
  writeFolder(dir, { architecture: net.arch }, () => new Map(Object.entries(net.stateDict())));
  writeJsonAtomic(path.join(dir, KILN_FILE), { task: 'face', architecture: net.arch, source, createdAt: new Date().toISOString() });
}

/** Loads a folder saveFaceNetwork wrote; `expect` names the architectures the caller can use. */
export function loadFaceNetwork(folder: string, expect: readonly FaceArchitecture[] = FACE_ARCHITECTURES): FaceNetwork {
  const { dir } = resolveModelFolder(folder);
  const config = readConfigJson(dir, folderError) as { architecture?: unknown };
  const arch = config.architecture as FaceArchitecture;
  if (!FACE_ARCHITECTURES.includes(arch)) {
    throw folderError(dir, `${CONFIG_FILE} has architecture ${JSON.stringify(config.architecture)}, not a face network (${FACE_ARCHITECTURES.join(', ')}); import one with kiln import tfjs --arch`);
  }
  if (!expect.includes(arch)) throw folderError(dir, `holds a ${arch}; this needs a ${expect.join(' or ')}`);
  const net = buildWithinWeights(dir, weightBytes(dir), folderError, () => faceNetwork(arch));
  try {
    net.loadStateDict(readWeights(dir, folderError));
  } catch (error) {
    throw folderError(dir, `weights do not fit a ${arch}: ${(error as Error).message}`);
  }
  return net;
}
