//! Beauty filter cost per frame, CPU and GPU, at 720p and 1080p.
//!
//! `cargo bench -p duet-beauty --bench beauty`
//!
//! The GPU figures include the upload of the frame, the compute passes and the
//! readback. Criterion prints the adapter first; on a software adapter
//! (llvmpipe/lavapipe) the GPU figures show correctness only, not speed.
//! The `format` group measures what an RGBA filter would add around an I420
//! pipeline: the colour conversions there and back.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use duet_beauty::{AdapterChoice, CpuFilter, GpuFilter, Params, Settings, Tier, synthetic_portrait};
use duet_frame::I420Frame;

const SIZES: [(u32, u32, &str); 2] = [(1280, 720, "720p"), (1920, 1080, "1080p")];

fn cpu(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu");
    let mut filter = CpuFilter::new();
    for (w, h, name) in SIZES {
        let input = synthetic_portrait(w, h, 8.0, 1);
        let params = Params::new(&Settings::recommended(), Tier::Full, w, h);
        group.bench_function(BenchmarkId::new("recommended", name), |b| {
            b.iter_batched_ref(|| input.clone(), |frame| filter.apply(frame, &params), BatchSize::LargeInput)
        });
    }
    group.finish();
}

fn gpu(c: &mut Criterion) {
    let mut filter = match GpuFilter::new(AdapterChoice::AllowSoftware) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("gpu: skipped ({e})");
            return;
        }
    };
    let adapter = filter.adapter().clone();
    eprintln!(
        "gpu adapter: {} ({}){}",
        adapter.name,
        adapter.backend,
        if adapter.software { " — SOFTWARE: figures show correctness only" } else { "" }
    );
    let mut group = c.benchmark_group("gpu");
    if adapter.software {
        group.sample_size(10);
    }
    for (w, h, name) in SIZES {
        let input = synthetic_portrait(w, h, 8.0, 1);
        let params = Params::new(&Settings::recommended(), Tier::Full, w, h);
        group.bench_function(BenchmarkId::new("recommended", name), |b| {
            b.iter_batched_ref(
                || input.clone(),
                |frame| filter.apply(frame, &params).expect("GPU filter"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn format(c: &mut Criterion) {
    let mut group = c.benchmark_group("format");
    let input = synthetic_portrait(1280, 720, 8.0, 1);
    let mut rgba = vec![0u8; 1280 * 720 * 4];
    group.bench_function("i420_to_rgba_and_back/720p", |b| {
        b.iter_batched_ref(
            || input.clone(),
            |frame| {
                to_rgba(frame, &mut rgba);
                from_rgba(&rgba, frame);
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// BT.601 limited range, fixed point: the cheapest honest conversion.
fn to_rgba(frame: &I420Frame, rgba: &mut [u8]) {
    let (w, cw) = (frame.width() as usize, frame.chroma_width() as usize);
    let (yp, up, vp) = (frame.y(), frame.u(), frame.v());
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i % w, i / w);
        let c = (y / 2) * cw + x / 2;
        let yy = 298 * (i32::from(yp[i]) - 16);
        let (u, v) = (i32::from(up[c]) - 128, i32::from(vp[c]) - 128);
        let clamp = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
        px.copy_from_slice(&[clamp(yy + 409 * v), clamp(yy - 100 * u - 208 * v), clamp(yy + 516 * u), 255]);
    }
}

fn from_rgba(rgba: &[u8], frame: &mut I420Frame) {
    let (w, cw) = (frame.width() as usize, frame.chroma_width() as usize);
    let (yp, up, vp) = frame.planes_mut();
    for (i, px) in rgba.chunks_exact(4).enumerate() {
        let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
        yp[i] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
        let (x, y) = (i % w, i / w);
        if x % 2 == 0 && y % 2 == 0 {
            let c = (y / 2) * cw + x / 2;
            up[c] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) as u8;
            vp[c] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) as u8;
        }
    }
}

criterion_group!(benches, cpu, gpu, format);
criterion_main!(benches);
