//! QR codes of survey links, as SVG (inline in posters) and PNG (for printing).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Why a QR code could not be made (the data is too long).
#[derive(Debug, thiserror::Error)]
#[error("cannot make a QR code: {0}")]
pub struct QrError(String);

fn code(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// An SVG document of the QR code, at least `size` pixels wide, with its quiet zone.
pub fn svg(data: &str, size: u32) -> Result<String, QrError> {
    Ok(code(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// A greyscale PNG of the QR code, `scale` pixels per module, with a 4-module quiet zone.
pub fn png(data: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code(data)?;
    let colors = code.to_colors();
    let width = code.width();
    let quiet = 4usize;
    let scale = scale.clamp(1, 40) as usize;
    let side = (width + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % width + quiet, i / width + quiet);
            for y in my * scale..(my + 1) * scale {
                let row = y * side;
                pixels[row + mx * scale..row + (mx + 1) * scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let side32 = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
        let mut enc = png::Encoder::new(&mut out, side32, side32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| QrError(e.to_string()))?;
        w.write_image_data(&pixels)
            .map_err(|e| QrError(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_both_formats() {
        let s = super::svg("https://hailong.example/s/00004", 200).unwrap();
        assert!(s.contains("<svg") && s.contains("</svg>"));
        let p = super::png("https://hailong.example/s/00004", 4).unwrap();
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert!(super::svg(&"x".repeat(5000), 10).is_err());
    }
}
