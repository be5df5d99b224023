//! The desktop app's own figures (BENCHMARKS.md, "Desktop app"):
//! - cold start: process start → the UI's script asks for the saved sign-in
//!   (logged by the app), median of 5 starts;
//! - idle memory: PSS summed over the app and all its processes (WebKit's web
//!   and network processes included), 5 s after the login screen is up;
//! - a 60 s 720p30 test call to the built-in echo user: CPU % and PSS of the
//!   whole process tree (the echo runs inside the app's built-in server, so the
//!   figures hold both ends of the call).
//!
//! Needs an X display and tauri-driver: `xvfb-run -a cargo bench --bench app`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{App, display_available, tauri_driver_available, wait_until_ui_is_up};

/// The process `root` and every process under it.
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The fields after the command name (which may hold spaces) start after the last ')'.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found
}

/// PSS of `pids` in MiB.
fn pss_mib(pids: &[u32]) -> f64 {
    let kib: u64 = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .filter_map(|rollup| {
            rollup
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .sum();
    kib as f64 / 1024.0
}

/// CPU time (user + system) of `pids`, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|stat| {
            let rest = stat.rsplit_once(')').map_or(String::new(), |(_, rest)| rest.to_owned());
            // (tpgid is -1 without a terminal: signed.)
            let fields: Vec<i64> = rest.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            // After ')': the state letter (not a number, so left out here), ppid, … cmajflt, utime, stime.
            (fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0)).max(0) as u64
        })
        .sum()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Starts the app directly and returns it with the ms its log gave for "the UI is up".
fn start_plain(data: &std::path::Path) -> (std::process::Child, f64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duet"))
        .env("XDG_DATA_HOME", data)
        .env("XDG_CONFIG_HOME", data)
        .env("DUET_LOG", "warn,duet_app::startup=info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the app starts");
    let ms = wait_until_ui_is_up(&mut child, Duration::from_secs(60)).unwrap_or(f64::NAN);
    (child, ms)
}

#[tokio::main]
async fn main() {
    if !display_available() || !tauri_driver_available() {
        eprintln!("app bench skipped: needs an X display and tauri-driver (run under xvfb-run)");
        return;
    }
    // Cold start and idle memory.
    let mut starts = Vec::new();
    let mut idle = Vec::new();
    for run in 0..5 {
        let data = tempfile::tempdir().expect("tempdir");
        let (mut child, ms) = start_plain(data.path());
        starts.push(ms);
        if run < 3 {
            std::thread::sleep(Duration::from_secs(5));
            idle.push(pss_mib(&tree(child.id())));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "cold start (process start → UI script running), 5 starts: median {:.0} ms, all {starts:.0?} ms",
        median(starts.clone())
    );
    println!(
        "idle memory at the login screen, PSS of the process tree, 3 starts: median {:.1} MiB, all {idle:.1?} MiB",
        median(idle.clone())
    );

    // A 720p30 test call to the echo user.
    let data = tempfile::tempdir().expect("tempdir");
    let config = data.path().join("app.duet.desktop");
    std::fs::create_dir_all(&config).expect("config dir");
    let settings = r#"{"camera":null,"microphone":null,"speaker":null,"quality":"hd",
        "beauty":{"enabled":false,"smoothing":5,"whitening":3,"ruddiness":2,"sharpening":2},"start_at_login":false}"#;
    std::fs::write(config.join("settings.json"), settings).expect("settings");
    let home = data.path().to_str().expect("utf-8");
    let app = App::start(&[("XDG_DATA_HOME", home), ("XDG_CONFIG_HOME", home), ("DUET_SOURCES", "synthetic")]).await;
    app.click("#use-local").await;
    app.click("li[data-user='echo'] button.call.video").await;
    app.wait_for("#call[data-phase='connected']", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let root = tree(std::process::id())
        .into_iter()
        .find(|&pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "duet"));
    let Some(root) = root else {
        println!("in-call figures: the app's process was not found");
        return;
    };
    let ticks_per_s = 100.0; // USER_HZ on Linux.
    let seconds = 60.0;
    let (before, at) = (cpu_ticks(&tree(root)), Instant::now());
    let mut memory = Vec::new();
    while at.elapsed() < Duration::from_secs_f64(seconds) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        memory.push(pss_mib(&tree(root)));
    }
    let cpu = (cpu_ticks(&tree(root)) - before) as f64 / ticks_per_s / at.elapsed().as_secs_f64() * 100.0;
    let drawn = app.execute("return window.__duetVideo.remote.frames", serde_json::json!([])).await;
    println!(
        "720p30 echo call, {seconds:.0} s: CPU {cpu:.0}% of one core (app, webview and the built-in echo), \
         PSS median {:.1} MiB (max {:.1}), remote frames drawn so far {drawn}",
        median(memory.clone()),
        memory.iter().copied().fold(0.0, f64::max)
    );
    app.quit().await;
}
