//! What the user chooses (levels 0–9 per effect) and the numbers both
//! implementations derive from it. The CPU and GPU paths read the same
//! [`Params`], so they cannot drift apart on constants.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Error, Result};

/// Strength of one effect: 0 is off, 9 is the strongest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    pub const OFF: Level = Level(0);
    pub const MAX: Level = Level(9);

    pub fn new(level: u8) -> Result<Self> {
        if level > Self::MAX.0 {
            return Err(Error::LevelOutOfRange(level));
        }
        Ok(Self(level))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    fn fraction(self) -> f32 {
        f32::from(self.0) / f32::from(Self::MAX.0)
    }
}

/// The beauty settings of one user. Everything at [`Level::OFF`] (or `enabled`
/// false) leaves frames untouched, bit for bit, and does no work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    pub enabled: bool,
    /// Edge-preserving skin smoothing (磨皮).
    pub smoothing: Level,
    /// A lightening curve over the whole picture (美白).
    pub whitening: Level,
    /// Warmth and saturation on skin (红润).
    pub ruddiness: Level,
    /// Light sharpening of everything that is not skin: eyes, hair, edges.
    pub sharpening: Level,
}

impl Settings {
    /// What a new user gets when they turn the filter on.
    pub fn recommended() -> Self {
        Self { enabled: true, smoothing: Level(5), whitening: Level(3), ruddiness: Level(2), sharpening: Level(2) }
    }

    pub fn is_identity(&self) -> bool {
        !self.enabled
            || [self.smoothing, self.whitening, self.ruddiness, self.sharpening].iter().all(|l| *l == Level::OFF)
    }

    fn pack(self) -> u32 {
        u32::from(self.enabled)
            | u32::from(self.smoothing.0) << 4
            | u32::from(self.whitening.0) << 8
            | u32::from(self.ruddiness.0) << 12
            | u32::from(self.sharpening.0) << 16
    }

    fn unpack(bits: u32) -> Self {
        let level = |shift: u32| Level(((bits >> shift) & 0xf) as u8);
        Self {
            enabled: bits & 1 == 1,
            smoothing: level(4),
            whitening: level(8),
            ruddiness: level(12),
            sharpening: level(16),
        }
    }
}

/// Settings shared between the UI (which changes them during a call) and the
/// capture thread (which reads them once per frame). A single atomic word, so a
/// change lands between two frames, never inside one, and never blocks capture.
#[derive(Debug, Clone, Default)]
pub struct SettingsHandle(Arc<AtomicU32>);

impl SettingsHandle {
    pub fn new(settings: Settings) -> Self {
        Self(Arc::new(AtomicU32::new(settings.pack())))
    }

    pub fn get(&self) -> Settings {
        Settings::unpack(self.0.load(Ordering::Acquire))
    }

    pub fn set(&self, settings: Settings) {
        self.0.store(settings.pack(), Ordering::Release);
    }
}

/// How much smoothing the filter can afford; lowered when frames take too long.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// The full smoothing radius.
    #[default]
    Full,
    /// Half the smoothing radius.
    Reduced,
    /// No smoothing; only the per-pixel effects (whitening, ruddiness, sharpening).
    Minimal,
}

impl Tier {
    pub fn lower(self) -> Option<Tier> {
        match self {
            Tier::Full => Some(Tier::Reduced),
            Tier::Reduced => Some(Tier::Minimal),
            Tier::Minimal => None,
        }
    }
}

/// Centre and spread of skin tones in BT.601 Cb/Cr (light to dark skin falls
/// within one spread of the centre).
const SKIN_CB: f32 = 108.0;
const SKIN_CR: f32 = 152.0;
const SKIN_SPREAD_CB: f32 = 22.0;
const SKIN_SPREAD_CR: f32 = 18.0;

/// The filter's numbers for one frame size, settings and tier. The layout is the
/// `Params` uniform of `gpu/beauty.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub width: u32,
    pub height: u32,
    /// Box radius of the guided filter, in half-resolution pixels; 0 = no smoothing.
    pub radius: u32,
    /// Guided-filter regularisation: variances well below it are smoothed away,
    /// edges well above it are kept.
    pub eps: f32,
    pub smooth: f32,
    pub whiten: f32,
    pub ruddy: f32,
    pub sharpen: f32,
    pub skin_cb: f32,
    pub skin_cr: f32,
    pub skin_inv_cb: f32,
    pub skin_inv_cr: f32,
}

impl Params {
    pub fn new(settings: &Settings, tier: Tier, width: u32, height: u32) -> Self {
        let enabled = |level: Level| if settings.enabled { level.fraction() } else { 0.0 };
        let smoothing = enabled(settings.smoothing);
        let short_side = width.div_ceil(2).min(height.div_ceil(2));
        // About 1/90 of the short side: 4 at 720p, 6 at 1080p, in half-res pixels.
        let full_radius = ((short_side as f32 / 90.0).round() as u32).clamp(1, 16);
        let radius = match tier {
            _ if smoothing == 0.0 => 0,
            Tier::Full => full_radius,
            Tier::Reduced => (full_radius / 2).max(1),
            Tier::Minimal => 0,
        };
        let sigma = 0.01 + 0.04 * smoothing;
        Self {
            width,
            height,
            radius,
            eps: sigma * sigma,
            // The square root spreads the visible change evenly over the levels:
            // the blend matters most at low levels, eps (the edge threshold) at high ones.
            smooth: if radius == 0 { 0.0 } else { smoothing.sqrt() },
            whiten: 0.6 * enabled(settings.whitening),
            ruddy: enabled(settings.ruddiness),
            sharpen: 0.8 * enabled(settings.sharpening),
            skin_cb: SKIN_CB,
            skin_cr: SKIN_CR,
            skin_inv_cb: 1.0 / SKIN_SPREAD_CB,
            skin_inv_cr: 1.0 / SKIN_SPREAD_CR,
        }
    }

    /// Whether the luma plane changes at all.
    pub fn touches_luma(&self) -> bool {
        self.smooth > 0.0 || self.whiten > 0.0 || self.sharpen > 0.0
    }

    /// Whether the chroma planes change at all.
    pub fn touches_chroma(&self) -> bool {
        self.ruddy > 0.0
    }

    pub fn is_identity(&self) -> bool {
        !self.touches_luma() && !self.touches_chroma()
    }

    pub(crate) fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }

    pub(crate) fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }
}

/// The shared per-pixel math, written once for the CPU; `gpu/beauty.wgsl` mirrors
/// each function line by line.
pub(crate) mod math {
    use super::Params;

    /// How skin-like a half-resolution sample is, 0–1, from its chroma and
    /// (to leave near-black pixels alone) its luma.
    #[inline]
    pub fn skin(p: &Params, cb: f32, cr: f32, l: f32) -> f32 {
        let dcb = (cb - p.skin_cb) * p.skin_inv_cb;
        let dcr = (cr - p.skin_cr) * p.skin_inv_cr;
        let d2 = dcb * dcb + dcr * dcr;
        ((1.6 - d2) * 1.25).clamp(0.0, 1.0) * ((l - 0.12) * 10.0).clamp(0.0, 1.0)
    }

    /// Per half-resolution sample, the luma output is `P * I + Q`: smoothing
    /// (towards the guided filter's `A * I + B`) weighted by skin, plus an unsharp
    /// mask against the local mean `L` weighted by non-skin.
    #[inline]
    pub fn combine(p: &Params, a: f32, b: f32, m: f32, l: f32) -> (f32, f32) {
        let sm = p.smooth * m;
        let km = p.sharpen * (1.0 - m);
        (1.0 + sm * (a - 1.0) + km, sm * b - km * l)
    }

    #[inline]
    pub fn luma(p: &Params, pm: f32, qm: f32, y: u8) -> u8 {
        let i = f32::from(y) * INV_255;
        let o = (pm * i + qm).clamp(0.0, 1.0);
        let o = o + p.whiten * o * (1.0 - o);
        to_byte(o * 255.0)
    }

    /// Ruddiness: more saturation on skin, pushed towards red (`shift` is −3 for
    /// Cb and +8 for Cr at full strength).
    #[inline]
    pub fn chroma(p: &Params, m: f32, c: u8, shift: f32) -> u8 {
        let r = p.ruddy * m;
        let out = 128.0 + (f32::from(c) - 128.0) * (1.0 + 0.25 * r) + shift * r;
        to_byte(out.clamp(0.0, 255.0))
    }

    /// Rounds `x` in 0..=255 to the nearest integer, ties to even (WGSL's
    /// `round`). Adding 1.5 * 2^23 leaves the integer in the low mantissa bits: the
    /// compiler vectorises this, unlike a saturating float-to-int cast.
    #[inline]
    pub fn to_byte(x: f32) -> u8 {
        (x + 12_582_912.0).to_bits() as u8
    }

    pub const CB_SHIFT: f32 = -3.0;
    pub const INV_1020: f32 = 1.0 / 1020.0;
    pub const INV_255: f32 = 1.0 / 255.0;
    pub const CR_SHIFT: f32 = 8.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_above_nine_are_refused() {
        assert_eq!(Level::new(9).unwrap(), Level::MAX);
        assert!(matches!(Level::new(10), Err(Error::LevelOutOfRange(10))));
    }

    #[test]
    fn settings_survive_the_shared_handle() {
        let settings = Settings {
            enabled: true,
            smoothing: Level(9),
            whitening: Level(1),
            ruddiness: Level(0),
            sharpening: Level(7),
        };
        let handle = SettingsHandle::new(Settings::default());
        handle.clone().set(settings);
        assert_eq!(handle.get(), settings);
    }

    #[test]
    fn disabled_or_all_zero_is_identity() {
        assert!(Settings::default().is_identity());
        assert!(Settings { enabled: false, ..Settings::recommended() }.is_identity());
        assert!(!Settings::recommended().is_identity());
        let off = Params::new(&Settings { enabled: false, ..Settings::recommended() }, Tier::Full, 64, 64);
        assert!(off.is_identity());
    }

    #[test]
    fn lower_tiers_shrink_the_radius_then_drop_smoothing() {
        let s = Settings::recommended();
        let radius = |tier| Params::new(&s, tier, 1280, 720).radius;
        assert_eq!((radius(Tier::Full), radius(Tier::Reduced), radius(Tier::Minimal)), (4, 2, 0));
        assert_eq!(Params::new(&s, Tier::Full, 1920, 1080).radius, 6);
        assert_eq!(Params::new(&s, Tier::Minimal, 1280, 720).smooth, 0.0);
    }
}
