// Image tasks for examples/shared-memory.ts, plain JavaScript so that the children load them without a
// compiler. An image is a SharedMemory block of 8-bit grey pixels, row after row.

/**
 * Blur rows [from, to) of `source` into `target`: each pixel becomes the mean of the (2r+1)² square around
 * it, the square cut at the image's edges. Reads and writes the blocks in place: nothing is copied.
 */
exports.blurRows = ({ source, target, width, height, from, to, radius }) => {
  const src = new Uint8Array(source.buffer);
  const dst = new Uint8Array(target.buffer);
  for (let y = from; y < to; y++) {
    const top = Math.max(0, y - radius);
    const bottom = Math.min(height - 1, y + radius);
    for (let x = 0; x < width; x++) {
      const left = Math.max(0, x - radius);
      const right = Math.min(width - 1, x + radius);
      let sum = 0;
      for (let yy = top; yy <= bottom; yy++) {
        const row = yy * width;
        for (let xx = left; xx <= right; xx++) sum += src[row + xx];
      }
      dst[y * width + x] = Math.round(sum / ((bottom - top + 1) * (right - left + 1)));
    }
  }
  return to - from;
};

/** The histogram of grey levels of rows [from, to), 256 counts. */
exports.histogram = ({ image, width, from, to }) => {
  const pixels = new Uint8Array(image.buffer, from * width, (to - from) * width);
  const counts = new Array(256).fill(0);
  for (let i = 0; i < pixels.length; i++) counts[pixels[i]]++;
  return counts;
};
