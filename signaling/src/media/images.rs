//! What the server learns from an image's bytes: its real type (the sender's claim is not
//! trusted), its size, and a thumbnail to show inline. Decoding runs with limits, so a small
//! file that claims huge dimensions (a decompression bomb) is refused instead of exhausting
//! memory.

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Images decoded at once: each may take up to [`MAX_ALLOC`] of memory.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// [`examine`] on the blocking pool, at most two at a time.
pub async fn examine_off_thread(bytes: Vec<u8>) -> Option<Examined> {
    let _permit = DECODING.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || examine(&bytes))
        .await
        .ok()
        .flatten()
}

/// [`avatar`] on the blocking pool, at most two at a time.
pub async fn avatar_off_thread(bytes: Vec<u8>) -> Option<Vec<u8>> {
    let _permit = DECODING.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || avatar(&bytes))
        .await
        .ok()
        .flatten()
}

/// The thumbnail fits in this square.
pub const THUMB_MAX: u32 = 480;
/// Pictures of accounts and rooms are squares this wide.
pub const AVATAR_SIDE: u32 = 256;
/// Images larger than this on either side are kept as plain files.
const MAX_SIDE: u32 = 16_384;
/// Memory the decoder may take.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// A recognised image.
#[derive(Debug)]
pub struct Examined {
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    /// PNG where the image has transparency, JPEG otherwise.
    pub thumb: Vec<u8>,
}

/// The formats shown inline: browsers decode them as images and nothing else.
fn safe_format(bytes: &[u8]) -> Option<(ImageFormat, &'static str)> {
    match image::guess_format(bytes).ok()? {
        ImageFormat::Png => Some((ImageFormat::Png, "image/png")),
        ImageFormat::Jpeg => Some((ImageFormat::Jpeg, "image/jpeg")),
        ImageFormat::Gif => Some((ImageFormat::Gif, "image/gif")),
        ImageFormat::WebP => Some((ImageFormat::WebP, "image/webp")),
        _ => None,
    }
}

/// Whether the first bytes of a file look like an image worth decoding.
pub fn looks_like_image(head: &[u8]) -> bool {
    safe_format(head).is_some()
}

/// The image in `bytes` and its type, or `None` when it is not one of the safe formats or
/// does not decode within the limits.
fn decode(bytes: &[u8]) -> Option<(DynamicImage, &'static str)> {
    let (format, mime) = safe_format(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().ok()?;
    (image.width() > 0 && image.height() > 0).then_some((image, mime))
}

/// PNG where the image has transparency, JPEG otherwise.
fn encode(image: &DynamicImage) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    if image.color().has_alpha() {
        image.to_rgba8().write_to(&mut out, ImageFormat::Png).ok()?;
    } else {
        image.to_rgb8().write_to(&mut out, ImageFormat::Jpeg).ok()?;
    }
    Some(out.into_inner())
}

/// The image in `bytes`, or `None` when it is not one of the safe formats or does not decode
/// within the limits. CPU-bound: call it off the async workers.
pub fn examine(bytes: &[u8]) -> Option<Examined> {
    let (image, mime) = decode(bytes)?;
    let (width, height) = (image.width(), image.height());
    let small = if width > THUMB_MAX || height > THUMB_MAX {
        image.thumbnail(THUMB_MAX, THUMB_MAX)
    } else {
        image
    };
    Some(Examined {
        mime,
        width,
        height,
        thumb: encode(&small)?,
    })
}

/// A picture of an account or a room: the middle square of the image, [`AVATAR_SIDE`] pixels
/// wide. CPU-bound.
pub fn avatar(bytes: &[u8]) -> Option<Vec<u8>> {
    let (image, _) = decode(bytes)?;
    encode(&image.resize_to_fill(AVATAR_SIDE, AVATAR_SIDE, FilterType::Triangle))
}

/// The type of a stored thumbnail, from its first bytes.
pub fn thumb_mime(head: &[u8]) -> &'static str {
    match image::guess_format(head) {
        Ok(ImageFormat::Png) => "image/png",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        if alpha {
            ImageBuffer::from_pixel(width, height, Rgba([10u8, 20, 30, 128]))
                .write_to(&mut out, ImageFormat::Png)
                .unwrap();
        } else {
            ImageBuffer::from_pixel(width, height, Rgb([10u8, 20, 30]))
                .write_to(&mut out, ImageFormat::Png)
                .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn a_large_photo_gets_a_small_thumbnail_of_the_same_shape() {
        let found = examine(&png(1600, 900, false)).unwrap();
        assert_eq!(
            (found.mime, found.width, found.height),
            ("image/png", 1600, 900)
        );
        assert_eq!(thumb_mime(&found.thumb), "image/jpeg");
        let thumb = image::load_from_memory(&found.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (480, 270));
    }

    #[test]
    fn a_picture_is_the_middle_square() {
        let picture = avatar(&png(1000, 400, false)).unwrap();
        let picture = image::load_from_memory(&picture).unwrap();
        assert_eq!(
            (picture.width(), picture.height()),
            (AVATAR_SIDE, AVATAR_SIDE)
        );
        assert!(avatar(b"not an image").is_none());
    }

    #[test]
    fn transparency_is_kept_in_the_thumbnail() {
        let found = examine(&png(40, 30, true)).unwrap();
        assert_eq!(thumb_mime(&found.thumb), "image/png");
        assert_eq!((found.width, found.height), (40, 30));
    }

    #[test]
    fn what_is_not_a_safe_image_is_a_plain_file() {
        assert!(examine(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_none());
        assert!(examine(b"GIF89a but then nothing").is_none());
        // A PNG header claiming 100000 x 100000 pixels is refused before decoding.
        let mut bomb = png(1, 1, false);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(examine(&bomb).is_none());
    }
}
