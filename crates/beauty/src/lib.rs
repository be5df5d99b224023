//! Duet's beauty filter: edge-preserving skin smoothing, whitening, ruddiness
//! and light sharpening on I420 frames, on the GPU (wgpu) or the CPU.
//!
//! - [`Settings`] / [`SettingsHandle`]: what the user picks, levels 0–9, changeable
//!   during a call.
//! - [`CpuFilter`]: the reference implementation and the fallback.
//! - [`GpuFilter`]: the same math in WGSL compute shaders.
//! - [`BeautyProcessor`]: the per-frame hook for the media pipeline; picks the
//!   backend, keeps to a time budget and reports [`BeautyStats`].

pub mod budget;
mod cpu;
mod error;
mod gpu;
mod portrait;
mod processor;
mod settings;

pub use budget::Budget;
pub use cpu::CpuFilter;
pub use error::{Error, Result};
pub use gpu::{AdapterChoice, AdapterSummary, GpuFilter};
pub use portrait::{SKIN_CB, SKIN_CR, synthetic_portrait};
pub use processor::{Backend, BeautyProcessor, BeautyStats};
pub use settings::{Level, Params, Settings, SettingsHandle, Tier};
