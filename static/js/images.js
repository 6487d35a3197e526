// Images the user attaches to a message (py/app/panels/attachments.py, over
// py/app/logic/images.py): read a file, and past a size limit draw it smaller on a canvas
// and encode it as JPEG. Every call resolves to JSON text:
//   {name, url: "data:image/...;base64,...", width, height, bytes[, original: [w, h]]}
//   {name, error: "not_image" | "unreadable" | "too_large"[, detail]}
// (`original` is there when the image was drawn smaller or re-encoded.)

// Kept as they are when small enough; any other image (GIF, BMP, ...) is re-encoded.
const KEPT_TYPES = ["image/png", "image/jpeg", "image/webp"];
// A file bigger than this is not even decoded (it would hold the page for seconds).
const MAX_INPUT_BYTES = 40_000_000;
// Drawn no smaller than this (longest side): past it, the image is "too_large".
const MIN_SIDE = 256;

const dataUrl = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(blob);
});

const encode = async (bitmap, width, height, quality) => {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // JPEG has no transparency: transparent pixels become white
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  return canvas.convertToBlob({ type: "image/jpeg", quality });
};

export async function prepareImage(file, maxSide, maxBytes, quality) {
  const name = String(file?.name ?? "");
  const report = (fields) => JSON.stringify({ name, ...fields });
  if (!(file instanceof Blob) || !String(file.type).startsWith("image/")) {
    return report({ error: "not_image" });
  }
  if (file.size > MAX_INPUT_BYTES) return report({ error: "too_large" });
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (err) {
    return report({ error: "unreadable", detail: String(err?.message ?? err) });
  }
  try {
    const { width, height } = bitmap;
    const longest = Math.max(width, height);
    if (KEPT_TYPES.includes(file.type) && longest <= maxSide && file.size <= maxBytes) {
      return report({ url: await dataUrl(file), width, height, bytes: file.size });
    }
    let side = Math.min(longest, maxSide);
    while (side >= Math.min(MIN_SIDE, longest)) {
      const w = Math.max(1, Math.round((width * side) / longest));
      const h = Math.max(1, Math.round((height * side) / longest));
      const blob = await encode(bitmap, w, h, quality);
      if (blob.size <= maxBytes) {
        return report({ url: await dataUrl(blob), width: w, height: h, bytes: blob.size,
                        original: [width, height] });
      }
      if (side === Math.min(MIN_SIDE, longest)) break;
      side = Math.max(Math.round(side * 0.75), Math.min(MIN_SIDE, longest));
    }
    return report({ error: "too_large" });
  } catch (err) {
    return report({ error: "unreadable", detail: String(err?.message ?? err) });
  } finally {
    bitmap.close();
  }
}
