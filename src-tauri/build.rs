fn main() {
    // Tauri looks for capabilities next to tauri.conf.json by default; ours live with the shell.
    tauri_build::try_build(tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"))
        .expect("failed to run tauri-build");
}
