//! Where the GPU filter's time goes: the filter per frame beside the moves it
//! cannot avoid (the frame to the GPU and back, and the host copies at either
//! end), each timed on its own, median of 200.
//!
//! `cargo run --release -p duet-beauty --example gpu_transfer`
//!
//! "frames in turn" cycles through 64 frames (200 MB at 1080p) so that each
//! arrives out of the CPU caches, as the criterion bench's frames do; "at 30
//! fps" also leaves the GPU idle between frames, as a call does.

use std::time::{Duration, Instant};

use duet_beauty::{AdapterChoice, GpuFilter, Params, Settings, Tier, synthetic_portrait};
use wgpu::BufferUsages as U;

fn time(label: &str, f: impl FnMut()) {
    time_paced(label, Duration::ZERO, f);
}

/// Times `f`, starting runs no closer than `period` apart (a camera's pace).
fn time_paced(label: &str, period: Duration, mut f: impl FnMut()) {
    for _ in 0..20 {
        f();
    }
    let mut runs: Vec<f64> = (0..200)
        .map(|_| {
            let start = Instant::now();
            f();
            let took = start.elapsed();
            std::thread::sleep(period.saturating_sub(took));
            took.as_secs_f64() * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!("  {label:<46} {:7.3} ms", runs[runs.len() / 2]);
}

/// Copies `src` into `dst`: on this thread, or on `threads` new ones.
fn copy(dst: &mut [u8], src: &[u8], threads: usize) {
    if threads == 1 {
        return dst.copy_from_slice(src);
    }
    let chunk = dst.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (d, c) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
            s.spawn(move || d.copy_from_slice(c));
        }
    });
}

struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
}

impl Gpu {
    fn wait(&self) {
        self.device.poll(wgpu::PollType::wait_indefinitely()).expect("the GPU answers");
    }

    fn copy_buffer(&self, from: &wgpu::Buffer, to: &wgpu::Buffer) {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(from, 0, to, 0, from.size());
        self.queue.submit([encoder.finish()]);
    }

    /// Host bytes → a mappable buffer (written on `threads` threads) → `input`.
    fn upload(&self, frame: &[u8], upload: &wgpu::Buffer, input: &wgpu::Buffer, threads: usize) {
        upload.map_async(wgpu::MapMode::Write, .., |r| r.expect("mapped"));
        self.wait();
        if threads == 1 {
            upload.get_mapped_range_mut(..).expect("mapped").copy_from_slice(frame);
        } else {
            // One mapped view per thread: a view is written whole, never split.
            let chunk = frame.len().div_ceil(threads).next_multiple_of(256);
            std::thread::scope(|s| {
                for (i, part) in frame.chunks(chunk).enumerate() {
                    let start = (i * chunk) as u64;
                    let slice = upload.slice(start..start + part.len() as u64);
                    let mut view = slice.get_mapped_range_mut().expect("mapped");
                    s.spawn(move || view.copy_from_slice(part));
                }
            });
        }
        upload.unmap();
        self.copy_buffer(upload, input);
        self.wait();
    }

    /// `output` → a mappable buffer → host bytes (copied on `threads` threads).
    fn readback(&self, output: &wgpu::Buffer, staging: &wgpu::Buffer, host: &mut [u8], threads: usize) {
        self.copy_buffer(output, staging);
        staging.map_async(wgpu::MapMode::Read, .., |r| r.expect("mapped"));
        self.wait();
        copy(host, &staging.get_mapped_range(..).expect("mapped"), threads);
        staging.unmap();
    }
}

fn main() {
    let mut filter = GpuFilter::new(AdapterChoice::AllowSoftware).expect("a GPU adapter");
    println!("filter adapter: {}", filter.adapter().name);
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .min_by_key(|a| a.get_info().device_type != wgpu::DeviceType::DiscreteGpu)
        .expect("an adapter");
    println!("transfer adapter: {}", adapter.get_info().name);
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).expect("a device");
    let gpu = Gpu { device, queue };

    for (name, width, height) in [("720p", 1280, 720), ("1080p", 1920, 1080)] {
        let portrait = synthetic_portrait(width, height, 8.0, 1);
        let frame = portrait.as_bytes();
        println!("{name}, {} bytes:", frame.len());
        for tier in [Tier::Full, Tier::Minimal] {
            let params = Params::new(&Settings::recommended(), tier, width, height);
            let mut same = portrait.clone();
            time(&format!("filter, {tier:?} tier, same frame"), || filter.apply(&mut same, &params).expect("filtered"));
            let mut frames = vec![portrait.clone(); 64];
            let mut next = 0;
            time(&format!("filter, {tier:?} tier, frames in turn"), || {
                next = (next + 1) % frames.len();
                filter.apply(&mut frames[next], &params).expect("filtered")
            });
            time_paced(
                &format!("filter, {tier:?} tier, frames in turn at 30 fps"),
                Duration::from_secs(1) / 30,
                || {
                    next = (next + 1) % frames.len();
                    filter.apply(&mut frames[next], &params).expect("filtered")
                },
            );
        }

        let size = frame.len().next_multiple_of(4) as u64;
        let buffer = |usage| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor { label: None, size, usage, mapped_at_creation: false })
        };
        let (upload, input) = (buffer(U::MAP_WRITE | U::COPY_SRC), buffer(U::STORAGE | U::COPY_DST | U::COPY_SRC));
        let staging = buffer(U::MAP_READ | U::COPY_DST);
        let mut host = vec![0u8; frame.len()];
        for threads in [1, 2, 4] {
            time(&format!("host copy, {threads} thread(s)"), || copy(&mut host, frame, threads));
            time(&format!("upload, {threads} thread(s)"), || gpu.upload(frame, &upload, &input, threads));
            time(&format!("readback, {threads} thread(s)"), || gpu.readback(&input, &staging, &mut host, threads));
        }
        time("queue.write_buffer + wait", || {
            gpu.queue.write_buffer(&input, 0, frame);
            gpu.queue.submit([]);
            gpu.wait();
        });
        time("empty submission + wait", || {
            gpu.queue.submit([]);
            gpu.wait();
        });
    }
}
