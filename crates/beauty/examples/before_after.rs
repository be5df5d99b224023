//! Writes before/after PNGs of a synthetic portrait so a person can judge the
//! filter: `cargo run -p duet-beauty --example before_after -- [OUT_DIR] [cpu|gpu]`.
//! Each PNG shows the input on the left and the filtered frame on the right.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use duet_beauty::{AdapterChoice, CpuFilter, GpuFilter, Level, Params, Settings, Tier, synthetic_portrait};
use duet_frame::I420Frame;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "beauty-examples".into()));
    let use_gpu = args.next().as_deref() == Some("gpu");
    std::fs::create_dir_all(&out)?;
    let mut gpu = if use_gpu { Some(GpuFilter::new(AdapterChoice::AllowSoftware)?) } else { None };
    let mut cpu = CpuFilter::new();

    let input = synthetic_portrait(640, 480, 10.0, 42);
    let level = |n| Level::new(n).expect("levels 0-9");
    let cases = [
        ("recommended", Settings::recommended()),
        ("smoothing-9", Settings { enabled: true, smoothing: level(9), ..Settings::default() }),
        ("whitening-9", Settings { enabled: true, whitening: level(9), ..Settings::default() }),
        ("ruddiness-9", Settings { enabled: true, ruddiness: level(9), ..Settings::default() }),
        ("sharpening-9", Settings { enabled: true, sharpening: level(9), ..Settings::default() }),
    ];
    for (name, settings) in cases {
        let params = Params::new(&settings, Tier::Full, input.width(), input.height());
        let mut output = input.clone();
        match &mut gpu {
            Some(gpu) => gpu.apply(&mut output, &params)?,
            None => cpu.apply(&mut output, &params),
        }
        let path = out.join(format!("{name}.png"));
        write_side_by_side(&path, &input, &output)?;
        println!("{}", path.display());
    }
    Ok(())
}

fn write_side_by_side(path: &PathBuf, left: &I420Frame, right: &I420Frame) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (left.width() as usize, left.height() as usize);
    let mut rgb = vec![0u8; 2 * w * h * 3];
    for (offset, frame) in [(0, left), (w, right)] {
        let cw = frame.chroma_width() as usize;
        for y in 0..h {
            for x in 0..w {
                let c = (y / 2) * cw + x / 2;
                let pixel = to_rgb(frame.y()[y * w + x], frame.u()[c], frame.v()[c]);
                rgb[(y * 2 * w + offset + x) * 3..][..3].copy_from_slice(&pixel);
            }
        }
    }
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), 2 * w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(())
}

/// BT.601 limited range to RGB.
fn to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let (y, u, v) = (1.164 * (f32::from(y) - 16.0), f32::from(u) - 128.0, f32::from(v) - 128.0);
    let clamp = |c: f32| c.round().clamp(0.0, 255.0) as u8;
    [clamp(y + 1.596 * v), clamp(y - 0.392 * u - 0.813 * v), clamp(y + 2.017 * u)]
}
