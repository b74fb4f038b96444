/** A problem with image data on disk: a corrupt IDX file, an unreadable image, an empty folder. */
export class ImageDataError extends Error {
  override name = 'ImageDataError';

  constructor(message: string, readonly file?: string) {
    super(message);
  }
}
