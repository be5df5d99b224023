//! The beauty filter as the media pipeline's per-frame hook.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use duet_frame::{FrameProcessor, I420Frame};

use crate::{AdapterChoice, Budget, CpuFilter, GpuFilter, Params, SettingsHandle, Tier};

/// Where the filter should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    Cpu,
    Gpu(AdapterChoice),
}

/// What the filter reports to the call's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeautyStats {
    /// "gpu: <adapter name>" or "cpu".
    pub backend: String,
    /// Why the GPU is not used, when it is not.
    pub gpu_unavailable: Option<String>,
    pub tier: Tier,
    /// The filter was too slow for the frame rate and lowered its tier.
    pub degraded: bool,
    /// Frames that went through the filter (not counting pass-through frames).
    pub frames: u64,
    pub last_frame: Duration,
    /// Average over the last complete budget window.
    pub window_average: Duration,
    pub budget: Duration,
}

enum Engine {
    Gpu(Box<GpuFilter>),
    Cpu(Box<CpuFilter>),
}

/// Runs every captured frame through the beauty filter with the current
/// settings, within half the frame interval (see [`Budget`]).
pub struct BeautyProcessor {
    engine: Engine,
    settings: SettingsHandle,
    budget: Budget,
    size: (u32, u32),
    stats: Arc<Mutex<BeautyStats>>,
}

impl BeautyProcessor {
    /// Never fails: without a usable GPU the filter runs on the CPU and the
    /// stats say why.
    pub fn new(backend: Backend, settings: SettingsHandle, frame_rate: u32) -> Self {
        let gpu = match backend {
            Backend::Cpu => None,
            Backend::Auto => Some(GpuFilter::new(AdapterChoice::HardwareOnly)),
            Backend::Gpu(choice) => Some(GpuFilter::new(choice)),
        };
        let budget = Budget::for_frame_rate(frame_rate);
        let mut stats = BeautyStats { budget: budget.limit(), ..Default::default() };
        let engine = match gpu {
            Some(Ok(gpu)) => {
                stats.backend = format!("gpu: {}", gpu.adapter().name);
                Engine::Gpu(Box::new(gpu))
            }
            Some(Err(e)) => {
                tracing::info!(reason = %e, "beauty filter on the CPU");
                stats.backend = "cpu".into();
                stats.gpu_unavailable = Some(e.to_string());
                Engine::Cpu(Box::default())
            }
            None => {
                stats.backend = "cpu".into();
                Engine::Cpu(Box::default())
            }
        };
        Self { engine, settings, budget, size: (0, 0), stats: Arc::new(Mutex::new(stats)) }
    }

    pub fn stats(&self) -> BeautyStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A view of the stats for another thread (the call's stats reporter).
    pub fn shared_stats(&self) -> Arc<Mutex<BeautyStats>> {
        self.stats.clone()
    }

    fn run(&mut self, frame: &mut I420Frame, params: &Params) {
        if let Engine::Gpu(gpu) = &mut self.engine {
            match gpu.apply(frame, params) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "beauty filter falls back to the CPU");
                    let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                    stats.backend = "cpu".into();
                    stats.gpu_unavailable = Some(e.to_string());
                    drop(stats);
                    self.engine = Engine::Cpu(Box::default());
                }
            }
        }
        if let Engine::Cpu(cpu) = &mut self.engine {
            cpu.apply(frame, params);
        }
    }
}

impl FrameProcessor for BeautyProcessor {
    fn process(&mut self, frame: &mut I420Frame) {
        let settings = self.settings.get();
        if settings.is_identity() {
            return;
        }
        let size = (frame.width(), frame.height());
        if size != self.size {
            self.size = size;
            self.budget.reset();
        }
        let params = Params::new(&settings, self.budget.tier(), size.0, size.1);
        let started = Instant::now();
        self.run(frame, &params);
        let took = started.elapsed();
        let lowered = self.budget.record(took);
        if let Some(tier) = lowered {
            tracing::warn!(?tier, average = ?self.budget.last_average(), budget = ?self.budget.limit(),
                "beauty filter too slow for the frame rate; smoothing reduced");
        }
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.frames += 1;
        stats.last_frame = took;
        stats.window_average = self.budget.last_average();
        stats.tier = self.budget.tier();
        stats.degraded = stats.tier != Tier::Full;
    }
}
