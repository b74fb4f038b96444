/** A model folder that cannot be read as asked: missing, without config.json, or with weights that do not fit its config. */
export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}
