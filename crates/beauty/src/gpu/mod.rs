//! The GPU implementation on wgpu (compute shaders in `beauty.wgsl`).
//!
//! Per frame: one upload of the I420 bytes, one compute pass of up to six
//! dispatches, one copy into a staging buffer and one readback. Pipelines are
//! built once; buffers and bind groups once per frame size; only the uniform and
//! the frame bytes are written each frame.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use duet_frame::{I420Frame, i420_len};

use crate::settings::Params;
use crate::{Error, Result};

/// How long a frame may wait for the GPU before the device counts as lost.
const GPU_TIMEOUT: Duration = Duration::from_secs(5);
const HALF_RES_GROUP: u32 = 16;
const FINISH_GROUP: u32 = 256;

/// Which adapters [`GpuFilter::new`] may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Real GPUs only: what live video uses.
    HardwareOnly,
    /// Also software rasterisers (llvmpipe/lavapipe): correct but slow; for tests.
    AllowSoftware,
}

/// The adapter a [`GpuFilter`] runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    /// A CPU rasteriser pretending to be a GPU.
    pub software: bool,
}

pub struct GpuFilter {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    pipelines: Pipelines,
    frame: Option<FrameResources>,
    failure: Arc<Mutex<Option<String>>>,
    submissions: u64,
    resource_builds: u64,
}

impl GpuFilter {
    pub fn new(choice: AdapterChoice) -> Result<Self> {
        pollster::block_on(Self::create(choice))
    }

    async fn create(choice: AdapterChoice) -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        adapters.sort_by_key(|a| rank(&a.get_info()));
        let adapter = adapters.into_iter().next().ok_or(Error::NoAdapter)?;
        let info = adapter.get_info();
        let summary =
            AdapterSummary { name: info.name.clone(), backend: info.backend.to_string(), software: is_software(&info) };
        if summary.software && choice == AdapterChoice::HardwareOnly {
            return Err(Error::SoftwareAdapter(summary.name));
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("duet-beauty"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&descriptor)
            .await
            .map_err(|e| Error::RequestDevice { adapter: summary.name.clone(), reason: e.to_string() })?;

        // wgpu's default handler panics; a broken GPU must only cost the filter.
        let failure = Arc::new(Mutex::new(None));
        let slot = failure.clone();
        device.on_uncaptured_error(Arc::new(move |e| record_failure(&slot, e.to_string())));
        let slot = failure.clone();
        device.set_device_lost_callback(move |_, message| record_failure(&slot, format!("device lost: {message}")));

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines::new(&device);
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(e.to_string()));
        }
        tracing::info!(adapter = %summary.name, backend = %summary.backend, "beauty filter on the GPU");
        Ok(Self {
            device,
            queue,
            adapter: summary,
            pipelines,
            frame: None,
            failure,
            submissions: 0,
            resource_builds: 0,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// GPU submissions so far (identity frames make none).
    pub fn submissions(&self) -> u64 {
        self.submissions
    }

    /// How many times per-size buffers and bind groups were built.
    pub fn resource_builds(&self) -> u64 {
        self.resource_builds
    }

    /// Filters `frame` in place. On error the frame is left as it was.
    pub fn apply(&mut self, frame: &mut I420Frame, params: &Params) -> Result<()> {
        if params.is_identity() {
            return Ok(());
        }
        if let Some(reason) = self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(Error::Gpu(reason));
        }
        let size = (frame.width(), frame.height());
        if self.frame.as_ref().is_none_or(|f| f.size != size) {
            self.frame = Some(FrameResources::new(&self.device, &self.pipelines, size)?);
            self.resource_builds += 1;
        }
        let res = self.frame.as_ref().expect("built above");

        self.queue.write_buffer(&res.params, 0, &uniform_bytes(params, res.len));
        let bytes = frame.as_bytes();
        let whole = bytes.len() / 4 * 4;
        if whole > 0 {
            self.queue.write_buffer(&res.input, 0, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            self.queue.write_buffer(&res.input, whole as u64, &tail);
        }

        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("beauty") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("beauty"), ..Default::default() });
            let half =
                (params.chroma_width().div_ceil(HALF_RES_GROUP), params.chroma_height().div_ceil(HALF_RES_GROUP));
            let mut dispatch = |pipeline: &wgpu::ComputePipeline, group: &wgpu::BindGroup, (x, y): (u32, u32)| {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            };
            let p = &self.pipelines;
            dispatch(&p.prepare, &res.groups.prepare, half);
            if params.touches_luma() {
                if params.smooth > 0.0 {
                    dispatch(&p.box_rows, &res.groups.rows_of_guide, half);
                    dispatch(&p.coefficients, &res.groups.coefficients, half);
                    dispatch(&p.box_rows, &res.groups.rows_of_coef, half);
                }
                dispatch(&p.combine, &res.groups.combine, half);
            }
            dispatch(&p.finish, &res.groups.finish, (res.words.div_ceil(FINISH_GROUP), 1));
        }
        encoder.copy_buffer_to_buffer(&res.output, 0, &res.staging, 0, res.padded());
        let submission = self.queue.submit([encoder.finish()]);
        self.submissions += 1;

        let (tx, rx) = mpsc::channel();
        res.staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: Some(GPU_TIMEOUT) })
            .map_err(|e| Error::Gpu(e.to_string()))?;
        rx.recv_timeout(GPU_TIMEOUT)
            .map_err(|_| Error::Gpu("the frame never came back from the GPU".into()))?
            .map_err(|e| Error::Gpu(e.to_string()))?;
        if let Some(reason) = self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            res.staging.unmap();
            return Err(Error::Gpu(reason));
        }
        {
            let view = res.staging.get_mapped_range(..).map_err(|e| Error::Gpu(e.to_string()))?;
            frame.as_bytes_mut().copy_from_slice(&view[..res.len]);
        }
        res.staging.unmap();
        Ok(())
    }
}

fn record_failure(slot: &Mutex<Option<String>>, reason: String) {
    tracing::error!(%reason, "GPU error in the beauty filter");
    slot.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(reason);
}

fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "softpipe", "swiftshader", "microsoft basic render"]
            .iter()
            .any(|s| name.contains(s))
}

/// Lower is better: discrete before integrated before anything else, software last.
fn rank(info: &wgpu::AdapterInfo) -> u8 {
    if is_software(info) {
        return 9;
    }
    match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        _ => 3,
    }
}

/// The `Params` uniform of `beauty.wgsl`, field for field.
fn uniform_bytes(p: &Params, frame_len: usize) -> Vec<u8> {
    let (cw, ch) = (p.chroma_width(), p.chroma_height());
    let words: [u32; 20] = [
        p.width,
        p.height,
        cw,
        ch,
        p.radius,
        p.width * p.height,
        cw * ch,
        frame_len as u32,
        p.eps.to_bits(),
        p.smooth.to_bits(),
        p.whiten.to_bits(),
        p.ruddy.to_bits(),
        p.sharpen.to_bits(),
        u32::from(p.touches_luma()),
        u32::from(p.touches_chroma()),
        0,
        p.skin_cb.to_bits(),
        p.skin_cr.to_bits(),
        p.skin_inv_cb.to_bits(),
        p.skin_inv_cr.to_bits(),
    ];
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

struct Pipelines {
    prepare: wgpu::ComputePipeline,
    box_rows: wgpu::ComputePipeline,
    coefficients: wgpu::ComputePipeline,
    combine: wgpu::ComputePipeline,
    finish: wgpu::ComputePipeline,
}

impl Pipelines {
    fn new(device: &wgpu::Device) -> Self {
        let module = device.create_shader_module(wgpu::include_wgsl!("beauty.wgsl"));
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Self {
            prepare: pipeline("prepare"),
            box_rows: pipeline("box_rows"),
            coefficients: pipeline("coefficients"),
            combine: pipeline("combine"),
            finish: pipeline("finish"),
        }
    }
}

/// Everything that depends on the frame size.
struct FrameResources {
    size: (u32, u32),
    len: usize,
    words: u32,
    params: wgpu::Buffer,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    staging: wgpu::Buffer,
    groups: BindGroups,
}

struct BindGroups {
    prepare: wgpu::BindGroup,
    rows_of_guide: wgpu::BindGroup,
    coefficients: wgpu::BindGroup,
    rows_of_coef: wgpu::BindGroup,
    combine: wgpu::BindGroup,
    finish: wgpu::BindGroup,
}

impl FrameResources {
    fn new(device: &wgpu::Device, pipelines: &Pipelines, (width, height): (u32, u32)) -> Result<Self> {
        let len = i420_len(width, height);
        let words = len.div_ceil(4) as u32;
        let max_groups = device.limits().max_compute_workgroups_per_dimension;
        if words.div_ceil(FINISH_GROUP) > max_groups {
            return Err(Error::Gpu(format!("a {width}x{height} frame is larger than this GPU can filter in one pass")));
        }
        let half = u64::from(width.div_ceil(2)) * u64::from(height.div_ceil(2));
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
        };
        use wgpu::BufferUsages as U;
        let frame_bytes = u64::from(words) * 4;
        let params = buffer("params", 80, U::UNIFORM | U::COPY_DST);
        let input = buffer("frame in", frame_bytes, U::STORAGE | U::COPY_DST);
        let output = buffer("frame out", frame_bytes, U::STORAGE | U::COPY_SRC);
        let staging = buffer("readback", frame_bytes, U::MAP_READ | U::COPY_DST);
        let guide = buffer("guide", half * 8, U::STORAGE);
        let mask = buffer("skin mask", half * 4, U::STORAGE);
        let tmp = buffer("row means", half * 8, U::STORAGE);
        let coef = buffer("coefficients", half * 8, U::STORAGE);
        let combined = buffer("combined", half * 8, U::STORAGE);

        let group = |pipeline: &wgpu::ComputePipeline, entries: &[(u32, &wgpu::Buffer)]| {
            let entries: Vec<_> = entries
                .iter()
                .map(|(binding, buffer)| wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: buffer.as_entire_binding(),
                })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let groups = BindGroups {
            prepare: group(&pipelines.prepare, &[(0, &params), (1, &input), (3, &guide), (4, &mask)]),
            rows_of_guide: group(&pipelines.box_rows, &[(0, &params), (5, &guide), (6, &tmp)]),
            coefficients: group(&pipelines.coefficients, &[(0, &params), (7, &tmp), (8, &coef)]),
            rows_of_coef: group(&pipelines.box_rows, &[(0, &params), (5, &coef), (6, &tmp)]),
            combine: group(&pipelines.combine, &[(0, &params), (3, &guide), (4, &mask), (7, &tmp), (9, &combined)]),
            finish: group(&pipelines.finish, &[(0, &params), (1, &input), (2, &output), (4, &mask), (9, &combined)]),
        };
        Ok(Self { size: (width, height), len, words, params, input, output, staging, groups })
    }

    fn padded(&self) -> u64 {
        u64::from(self.words) * 4
    }
}
