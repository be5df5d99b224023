//! Whether the webview's GL runs on a real GPU. The page cannot tell: WebKitGTK
//! names every WebGL renderer "Apple GPU", llvmpipe included.
//!
//! On Linux two steps answer it. Without a DRM render node driven by a GPU driver
//! there is no GPU (the common case of virtual machines, at no cost). With one, the
//! GL renderer decides: a render node can still end in software, as a `virtio_gpu`
//! without 3D does. The renderer is read in a child process (the app's own binary,
//! started with [`PROBE_ENV`]), so the app itself never loads the GL driver for it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set in the environment of the app's binary, it prints the GL renderer and exits.
pub const PROBE_ENV: &str = "DUET_GL_PROBE";

/// Where Linux lists DRM devices.
const DRM: &str = "/sys/class/drm";

/// DRM drivers that have a render node but no GPU behind it.
const SOFTWARE_DRIVERS: [&str; 2] = ["vgem", "vkms"];

/// How GL renderers that draw on the CPU name themselves (matched without case):
/// Mesa's llvmpipe, softpipe and swrast, zink on lavapipe, and WSL's fallback.
const SOFTWARE_RENDERERS: [&str; 6] =
    ["llvmpipe", "softpipe", "lavapipe", "swrast", "software rasterizer", "basic render driver"];

/// How long the renderer may take to answer; a driver that hangs counts as no answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the webview draws with a real GPU. Other systems' webviews choose their
/// own way and count as a GPU. Worked out once; [`crate::run`] starts it early so
/// the window never waits for it.
pub fn has_gpu() -> bool {
    static GPU: OnceLock<bool> = OnceLock::new();
    *GPU.get_or_init(|| {
        if !cfg!(target_os = "linux") {
            return true;
        }
        gpu_from(Path::new(DRM), || {
            // Never from inside a probe, so a binary that ignores PROBE_ENV cannot start itself over and over.
            if std::env::var_os(PROBE_ENV).is_some() {
                return None;
            }
            let mut probe = Command::new(std::env::current_exe().ok()?);
            probe.env(PROBE_ENV, "1");
            renderer_from(probe, PROBE_TIMEOUT)
        })
    })
}

/// What the app sets in its environment, before GTK and WebKit start, on a machine
/// without a GPU render node, each only where the user has not set it. Without
/// them the app process loads llvmpipe (Mesa's software GL, with LLVM) for GTK and
/// WebKit to ask it things whose answers are known: about 20 MiB of the idle app
/// (BENCHMARKS.md, "Desktop app").
const WITHOUT_GPU: [(&str, &str); 4] = [
    // GTK draws windows with cairo instead of probing GL. WebKit then turns its
    // hardware acceleration off altogether, so the page is composited on the CPU, as
    // calls without a GPU want anyway. On a Wayland desktop without a GPU (weston
    // drawing with pixman) WebKit's web process died with GTK's GL, and the page
    // never came up (`tests/app_window.rs`).
    ("GDK_GL", "disable"),
    // The page reaches the window in shared memory: WebKit's own choice where there
    // is no render node, said up front so that it does not open an EGL display in
    // the app to find out.
    ("WEBKIT_DMABUF_RENDERER_FORCE_SHM", "1"),
    // The render node WebKit would otherwise ask an EGL display for; none is there,
    // and WebKit only opens it for GPU buffers, which shared memory does without.
    ("WEBKIT_WEB_RENDER_DEVICE_FILE", NO_RENDER_NODE),
    // Debian's WebKit opens a GL context in the app at start to look for NVIDIA's
    // driver, whose GPU buffers it avoids; shared memory has none to avoid.
    ("WEBKIT_FORCE_DMABUF_RENDERER", "1"),
];

/// The render node WebKit is given where there is none: a path that does not exist.
const NO_RENDER_NODE: &str = "/dev/dri/no-render-node";

/// Sets [`WITHOUT_GPU`] where there is no GPU render node (Linux). Returns the
/// variables it set.
///
/// # Safety
///
/// It changes the process environment: call it before any other thread exists.
#[allow(unsafe_code)]
pub unsafe fn choose_window_drawing() -> Vec<&'static str> {
    if !cfg!(target_os = "linux") || gpu_render_node() {
        return Vec::new();
    }
    let unset = WITHOUT_GPU.into_iter().filter(|(name, _)| std::env::var_os(name).is_none()).collect::<Vec<_>>();
    for (name, value) in &unset {
        // SAFETY: the caller starts no thread before this returns.
        unsafe { std::env::set_var(name, value) };
    }
    unset.into_iter().map(|(name, _)| name).collect()
}

/// A GPU render node under `drm` (laid out as `/sys/class/drm`), whose GL renderer,
/// asked only then, is not a software one.
fn gpu_from(drm: &Path, renderer: impl FnOnce() -> Option<String>) -> bool {
    if !has_gpu_render_node(drm) {
        return false;
    }
    match renderer() {
        Some(renderer) => {
            tracing::info!("GL renderer: {renderer}");
            !is_software_renderer(&renderer)
        }
        // The GPU driver's node is there; trust it when GL cannot be asked.
        None => true,
    }
}

/// Whether this machine has a DRM render node driven by a GPU driver (Linux).
pub fn gpu_render_node() -> bool {
    has_gpu_render_node(Path::new(DRM))
}

/// `drm` is a directory laid out as `/sys/class/drm`: `renderD128/device/driver`
/// links to the driver's directory, named after it.
fn has_gpu_render_node(drm: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(drm) else { return false };
    entries.flatten().filter(|entry| entry.file_name().to_string_lossy().starts_with("renderD")).any(|entry| {
        std::fs::read_link(entry.path().join("device/driver"))
            .ok()
            .and_then(|driver| driver.file_name().map(|name| name.to_string_lossy().into_owned()))
            .is_some_and(|driver| !SOFTWARE_DRIVERS.contains(&driver.as_str()))
    })
}

/// Whether a `GL_RENDERER` string names a renderer that draws on the CPU.
pub fn is_software_renderer(renderer: &str) -> bool {
    let renderer = renderer.to_lowercase();
    SOFTWARE_RENDERERS.iter().any(|name| renderer.contains(name))
}

/// The first line `probe` prints, if it prints one and exits successfully within
/// `timeout`; a probe still running then is killed.
fn renderer_from(mut probe: Command, timeout: Duration) -> Option<String> {
    let mut child = probe.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().ok()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!("the GL renderer did not answer within {timeout:?}");
                return None;
            }
        }
    };
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    let line = out.lines().next()?.trim();
    (status.success() && !line.is_empty()).then(|| line.to_owned())
}

/// What the app's binary does when started with [`PROBE_ENV`]: prints the GL
/// renderer on stdout, or why there is none on stderr.
pub fn print_gl_renderer() -> std::process::ExitCode {
    match gl_renderer() {
        Ok(renderer) => {
            println!("{renderer}");
            std::process::ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("no GL renderer: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_os = "linux")]
mod egl_probe {
    use std::ffi::{CStr, c_char};

    use khronos_egl as egl;

    /// `EGL_PLATFORM_SURFACELESS_MESA`: a display without a window system, on the
    /// first GPU Mesa can drive, else on llvmpipe.
    const PLATFORM_SURFACELESS: egl::Enum = 0x31DD;
    const GL_RENDERER: u32 = 0x1F01;

    use super::GlError;

    /// The `GL_RENDERER` of an OpenGL ES context on the machine's default EGL device.
    #[allow(unsafe_code)]
    pub fn gl_renderer() -> Result<String, GlError> {
        // SAFETY: libEGL.so.1 is the system's EGL library, which implements the EGL API.
        let egl = unsafe { egl::DynamicInstance::<egl::EGL1_4>::load_required() }
            .map_err(|error| GlError::Library(error.to_string()))?;
        let surfaceless = egl.query_string(None, egl::EXTENSIONS).is_ok_and(|extensions| {
            extensions.to_bytes().split(|byte| *byte == b' ').any(|name| name == b"EGL_MESA_platform_surfaceless")
        });
        let display = match egl.upcast::<egl::EGL1_5>() {
            // SAFETY: the surfaceless platform takes no native display.
            Some(egl) if surfaceless => {
                unsafe { egl.get_platform_display(PLATFORM_SURFACELESS, egl::DEFAULT_DISPLAY, &[egl::ATTRIB_NONE]) }
                    .ok()
            }
            // SAFETY: EGL_DEFAULT_DISPLAY is always a valid native display.
            _ => unsafe { egl.get_display(egl::DEFAULT_DISPLAY) },
        }
        .ok_or(GlError::NoDisplay)?;
        egl.initialize(display).map_err(|error| GlError::Start(error.to_string()))?;
        let renderer = context_renderer(&egl, display);
        let _ = egl.terminate(display);
        renderer
    }

    #[allow(unsafe_code)]
    fn context_renderer(egl: &egl::DynamicInstance<egl::EGL1_4>, display: egl::Display) -> Result<String, GlError> {
        egl.bind_api(egl::OPENGL_ES_API).map_err(|error| GlError::NoEs(error.to_string()))?;
        let config = egl
            // Any kind of surface: a surfaceless display has no window configurations.
            .choose_first_config(display, &[egl::RENDERABLE_TYPE, egl::OPENGL_ES2_BIT, egl::SURFACE_TYPE, 0, egl::NONE])
            .map_err(|error| GlError::Config(error.to_string()))?
            .ok_or(GlError::Config("none offers OpenGL ES 2".into()))?;
        let context = egl
            .create_context(display, config, None, &[egl::CONTEXT_CLIENT_VERSION, 2, egl::NONE])
            .map_err(|error| GlError::Context(error.to_string()))?;
        let renderer = egl
            .make_current(display, None, None, Some(context))
            .map_err(|error| GlError::NotCurrent(error.to_string()))
            .and_then(|()| {
                let get_string = egl.get_proc_address("glGetString").ok_or(GlError::NoRenderer)?;
                // SAFETY: glGetString has this signature in every OpenGL ES version.
                let get_string: unsafe extern "system" fn(u32) -> *const c_char =
                    unsafe { std::mem::transmute(get_string) };
                // SAFETY: a context is current on this thread; a non-null answer is a
                // NUL-terminated string the driver keeps while the context lives.
                let name = unsafe { get_string(GL_RENDERER) };
                if name.is_null() {
                    return Err(GlError::NoRenderer);
                }
                // SAFETY: as above.
                Ok(unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned())
            });
        let _ = egl.make_current(display, None, None, None);
        let _ = egl.destroy_context(display, context);
        renderer
    }
}

#[cfg(target_os = "linux")]
use egl_probe::gl_renderer;

/// Other systems' webviews choose their own GL; there is nothing to ask.
#[cfg(not(target_os = "linux"))]
fn gl_renderer() -> Result<String, GlError> {
    Err(GlError::NotAsked)
}

/// Why the GL renderer could not be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlError {
    #[error("no EGL library ({0})")]
    Library(String),
    #[error("no EGL display")]
    NoDisplay,
    #[error("EGL did not start ({0})")]
    Start(String),
    #[error("no OpenGL ES ({0})")]
    NoEs(String),
    #[error("no OpenGL ES 2 configuration ({0})")]
    Config(String),
    #[error("no OpenGL ES context ({0})")]
    Context(String),
    #[error("the context cannot be made current without a surface ({0})")]
    NotCurrent(String),
    #[error("the context names no renderer")]
    NoRenderer,
    #[error("only asked on Linux")]
    NotAsked,
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A `/sys/class/drm` with one node named `node` whose device is driven by `driver`.
    fn drm_with(node: &str, driver: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(node).join("device")).unwrap();
        symlink(format!("../../../bus/pci/drivers/{driver}"), dir.path().join(node).join("device/driver")).unwrap();
        dir
    }

    #[test]
    fn a_render_node_of_a_gpu_driver_is_a_gpu() {
        for driver in ["amdgpu", "i915", "nvidia", "nouveau", "xe"] {
            assert!(has_gpu_render_node(drm_with("renderD128", driver).path()), "{driver}");
        }
    }

    #[test]
    fn software_nodes_display_only_cards_and_no_drm_are_not() {
        assert!(!has_gpu_render_node(drm_with("renderD128", "vgem").path()));
        assert!(!has_gpu_render_node(drm_with("renderD129", "vkms").path()));
        assert!(!has_gpu_render_node(drm_with("card0", "simpledrm").path()), "a card without a render node");
        assert!(!has_gpu_render_node(Path::new("/nonexistent/drm")));
    }

    #[test]
    fn a_gpu_node_whose_gl_draws_on_the_cpu_is_no_gpu() {
        let gpu_node = drm_with("renderD128", "virtio-pci");
        assert!(!gpu_from(gpu_node.path(), || Some("llvmpipe (LLVM 15.0.6, 256 bits)".into())));
        assert!(gpu_from(gpu_node.path(), || Some("virgl (NVIDIA GeForce RTX 3060)".into())));
        assert!(gpu_from(gpu_node.path(), || None), "GL could not be asked: the node decides");

        let asked = std::cell::Cell::new(false);
        let no_gpu = drm_with("renderD128", "vgem");
        assert!(!gpu_from(no_gpu.path(), || {
            asked.set(true);
            Some("NVIDIA H100 80GB HBM3/PCIe/SSE2".into())
        }));
        assert!(!asked.get(), "without a GPU node the renderer is not asked");
    }

    #[test]
    fn renderers_that_draw_on_the_cpu_are_told_from_gpus() {
        for software in [
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            "softpipe",
            "Software Rasterizer",
            "zink Vulkan 1.3(llvmpipe (LLVM 15.0.6, 256 bits) (MESA_LLVMPIPE))",
            "D3D12 (Microsoft Basic Render Driver)",
        ] {
            assert!(is_software_renderer(software), "{software}");
        }
        for gpu in [
            "NVIDIA H100 80GB HBM3/PCIe/SSE2",
            "AMD Radeon RX 7600 (radeonsi, navi33, LLVM 15.0.6, DRM 3.54, 6.5.0)",
            "Mesa Intel(R) UHD Graphics 620 (KBL GT2)",
            "virgl (NVIDIA GeForce RTX 3060)",
        ] {
            assert!(!is_software_renderer(gpu), "{gpu}");
        }
    }

    #[test]
    fn the_renderer_is_the_first_line_of_a_successful_probe() {
        let mut probe = Command::new("sh");
        probe.args(["-c", "echo 'llvmpipe (LLVM 15.0.6, 256 bits)'; echo more"]);
        assert_eq!(renderer_from(probe, PROBE_TIMEOUT).as_deref(), Some("llvmpipe (LLVM 15.0.6, 256 bits)"));

        let mut failed = Command::new("sh");
        failed.args(["-c", "echo partial; exit 1"]);
        assert_eq!(renderer_from(failed, PROBE_TIMEOUT), None);

        let mut silent = Command::new("true");
        silent.arg("quiet");
        assert_eq!(renderer_from(silent, PROBE_TIMEOUT), None);
    }

    #[test]
    fn a_probe_that_hangs_is_killed_and_gives_no_answer() {
        let mut hung = Command::new("sleep");
        hung.arg("30");
        let started = Instant::now();
        assert_eq!(renderer_from(hung, Duration::from_millis(50)), None);
        assert!(started.elapsed() < Duration::from_secs(10), "the probe was waited for: {:?}", started.elapsed());
    }
}
