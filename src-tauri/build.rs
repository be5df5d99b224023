/// Every command the UI can call. Listing them makes each one a permission
/// (`allow-<command>`), so each window's capability names what it may call.
const COMMANDS: &[&str] = &[
    "app_info",
    "login",
    "resume",
    "logout",
    "use_local_server",
    "system_notices",
    "contacts",
    "add_contact",
    "remove_contact",
    "history",
    "call",
    "accept",
    "decline",
    "hang_up",
    "set_switch",
    "send_chat",
    "devices",
    "use_device",
    "video_endpoint",
    "current_call",
    "take_invite_link",
    "settings",
    "save_settings",
    "set_beauty",
    "preview_ringtone",
    "set_gpu_compositing",
    "check_for_update",
    "install_update",
    "start_checks",
    "stop_checks",
    "check_camera",
    "check_microphone",
    "record_and_play_back",
    "check_speaker",
    "finish_check",
    "test_network",
    "save_check_report",
];

fn main() {
    // Tauri looks for capabilities next to tauri.conf.json by default; ours live with the shell.
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("failed to run tauri-build");
}
