/** Base images of a libvirt host's image_dir: what names and formats they may have. */
export const IMAGE_FORMATS = ['qcow2', 'raw'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** A file name without its extension: no path, no leading dot, nothing a shell or a path would read specially. */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
