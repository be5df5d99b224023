//! Whether the webview's GL runs on a real GPU. The page cannot tell: WebKitGTK
//! names every WebGL renderer "Apple GPU", llvmpipe included.

use std::path::Path;

/// DRM drivers that have a render node but no GPU behind it.
const SOFTWARE_DRIVERS: [&str; 2] = ["vgem", "vkms"];

/// On Linux: whether a DRM render node (`/dev/dri/renderD*`) is driven by a GPU
/// driver. WebKitGTK's GL draws on that node; without one, Mesa draws on the CPU
/// (llvmpipe). Other systems' webviews choose their own way and count as a GPU.
pub fn has_gpu() -> bool {
    if cfg!(target_os = "linux") { has_gpu_render_node(Path::new("/sys/class/drm")) } else { true }
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
}
