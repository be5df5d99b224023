//! The detection report (seed 004's "Detect Report"): the system, every device
//! found, each check's outcome with advice, and the network figures; saved as
//! JSON for machines and as an HTML page for people.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use duet_media::DeviceList;
use duet_protocol::quality;
use serde::{Deserialize, Serialize};

use crate::SpeedTestResult;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Works, but a call will suffer (no camera, a poor network).
    Warning,
    /// Broken: calls will not work as they should until it is fixed.
    Failed,
    /// Not run (nothing to run it on, or not asked for).
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Failed => "FAILED",
            Status::Skipped => "SKIPPED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Camera,
    Microphone,
    Speaker,
    Network,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: CheckName,
    pub status: Status,
    /// What was found, in a sentence.
    pub summary: String,
    /// What to do about it, when something is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// The seed's device error code (-1301, -1302, -1314, …), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Figures (negotiated format, level, …).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The machine the checks ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// `linux`, `macos`, `windows`.
    pub os: String,
    /// The distribution or product name and version, where the system says.
    pub os_version: String,
    pub kernel: String,
    pub arch: String,
    pub cpus: usize,
    /// Total memory, MiB (0 when unknown).
    pub memory_mib: u64,
}

impl SystemInfo {
    pub fn now() -> SystemInfo {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let os_version = read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_kib: u64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
        SystemInfo {
            os: std::env::consts::OS.to_owned(),
            os_version,
            kernel: if kernel.is_empty() { "unknown".to_owned() } else { kernel },
            arch: std::env::consts::ARCH.to_owned(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_mib: memory_kib / 1024,
        }
    }
}

/// A device as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

impl DeviceEntry {
    /// The name, the id when it differs (names repeat: "Null Output", "USB Audio"), and whether it is the default.
    fn label(&self) -> String {
        let mut label = self.name.clone();
        if self.id != self.name {
            label = format!("{label} [{}]", self.id);
        }
        if self.is_default {
            label.push_str(" (default)");
        }
        label
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Devices {
    pub cameras: Vec<DeviceEntry>,
    pub microphones: Vec<DeviceEntry>,
    pub speakers: Vec<DeviceEntry>,
}

impl From<&DeviceList> for Devices {
    fn from(list: &DeviceList) -> Devices {
        let audio = |devices: &[duet_media::audio::AudioDevice]| {
            devices
                .iter()
                .map(|d| DeviceEntry { id: d.id.clone(), name: d.name.clone(), is_default: d.is_default })
                .collect()
        };
        Devices {
            cameras: list
                .cameras
                .iter()
                .enumerate()
                .map(|(i, c)| DeviceEntry { id: c.id.clone(), name: c.name.clone(), is_default: i == 0 })
                .collect(),
            microphones: audio(&list.microphones),
            speakers: audio(&list.speakers),
        }
    }
}

/// Everything the checks found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Unix ms.
    pub created_at: u64,
    pub app_version: String,
    pub system: SystemInfo,
    pub devices: Devices,
    pub checks: Vec<Check>,
    /// The speed test's figures, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<SpeedTestResult>,
}

impl Report {
    /// An empty report on this machine with its devices as they are now.
    pub fn new(devices: &DeviceList) -> Report {
        Report {
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            system: SystemInfo::now(),
            devices: devices.into(),
            checks: Vec::new(),
            network: None,
        }
    }

    /// Whether any check failed.
    pub fn broken(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Failed)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// The report as plain text, for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let s = &self.system;
        let _ = writeln!(out, "Duet {} device and network report", self.app_version);
        let _ = writeln!(
            out,
            "System: {} ({}), kernel {}, {}, {} CPUs, {} MiB",
            s.os_version, s.os, s.kernel, s.arch, s.cpus, s.memory_mib
        );
        for (kind, list) in self.device_groups() {
            let names: Vec<String> = list.iter().map(DeviceEntry::label).collect();
            let _ = writeln!(out, "{kind}: {}", if names.is_empty() { "none".to_owned() } else { names.join(", ") });
        }
        for check in &self.checks {
            let _ = writeln!(out, "[{}] {:?}: {}", check.status.label(), check.name, check.summary);
            if let Some(advice) = &check.advice {
                let _ = writeln!(out, "    advice: {advice}");
            }
        }
        if let Some(n) = self.network.as_ref().filter(|n| n.success) {
            let _ = writeln!(out, "{}", network_line(n));
        }
        out
    }

    /// The report as a self-contained HTML page.
    pub fn to_html(&self) -> String {
        let mut out = String::from(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Duet report</title>\n\
             <style>body{font:15px system-ui,sans-serif;margin:2em;max-width:48em}\
             td,th{padding:.3em .8em;text-align:left;vertical-align:top}\
             .ok{color:#17803d}.warning{color:#b45309}.failed{color:#b91c1c}.skipped{color:#6b7280}</style>\n\
             </head><body>\n",
        );
        let s = &self.system;
        let _ = writeln!(out, "<h1>Duet {} device and network report</h1>", esc(&self.app_version));
        let _ = writeln!(
            out,
            "<p>{} ({}), kernel {}, {}, {} CPUs, {} MiB</p>",
            esc(&s.os_version),
            esc(&s.os),
            esc(&s.kernel),
            esc(&s.arch),
            s.cpus,
            s.memory_mib
        );
        out.push_str("<h2>Checks</h2>\n<table>\n");
        for check in &self.checks {
            let status = serde_json::to_value(check.status).ok().and_then(|v| v.as_str().map(str::to_owned));
            let _ = writeln!(
                out,
                "<tr><th>{:?}</th><td class=\"{}\">{}</td><td>{}{}</td></tr>",
                check.name,
                status.unwrap_or_default(),
                check.status.label(),
                esc(&check.summary),
                check.advice.as_deref().map(|a| format!("<br><em>{}</em>", esc(a))).unwrap_or_default()
            );
        }
        out.push_str("</table>\n");
        if let Some(n) = self.network.as_ref().filter(|n| n.success) {
            let _ = writeln!(out, "<p>{}</p>", esc(&network_line(n)));
        }
        out.push_str("<h2>Devices</h2>\n");
        for (kind, list) in self.device_groups() {
            let _ = write!(out, "<h3>{kind}</h3><ul>");
            if list.is_empty() {
                out.push_str("<li>none</li>");
            }
            for device in list {
                let _ = write!(out, "<li>{}</li>", esc(&device.label()));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body></html>\n");
        out
    }

    fn device_groups(&self) -> [(&'static str, &[DeviceEntry]); 3] {
        [
            ("Cameras", &self.devices.cameras),
            ("Microphones", &self.devices.microphones),
            ("Speakers", &self.devices.speakers),
        ]
    }

    /// Writes `duet-report-<time>.json` and `.html` into `dir`; their paths.
    pub fn save(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let stem = dir.join(format!("duet-report-{}", self.created_at));
        let (json, html) = (stem.with_extension("json"), stem.with_extension("html"));
        std::fs::write(&json, self.to_json())?;
        std::fs::write(&html, self.to_html())?;
        Ok((json, html))
    }
}

fn network_line(n: &SpeedTestResult) -> String {
    let bandwidth = |kbps: i64| if kbps < 0 { "not tested".to_owned() } else { format!("{kbps} kbps") };
    format!(
        "Network ({}): quality {} ({}), RTT {} ms, jitter {} ms, loss up {:.1}% down {:.1}%, bandwidth up {} down {}",
        n.ip,
        n.quality,
        quality::describe(n.quality),
        n.rtt,
        n.jitter,
        n.up_lost_rate * 100.0,
        n.down_lost_rate * 100.0,
        bandwidth(n.available_up_bandwidth),
        bandwidth(n.available_down_bandwidth)
    )
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut report = Report::new(&DeviceList::default());
        report.devices.cameras.push(DeviceEntry { id: "0".into(), name: "<Cam & Co>".into(), is_default: true });
        report.checks.push(Check {
            name: CheckName::Camera,
            status: Status::Failed,
            summary: "the camera is in use by another application".into(),
            advice: Some("Close it and retest.".into()),
            code: Some(-1316),
            details: serde_json::Map::new(),
        });
        report
    }

    #[test]
    fn a_failed_check_makes_the_report_broken_and_survives_json() {
        let report = report();
        assert!(report.broken());
        let back: Report = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn the_page_escapes_device_names_and_shows_advice() {
        let html = report().to_html();
        assert!(html.contains("&lt;Cam &amp; Co&gt; [0] (default)"), "{html}");
        assert!(!html.contains("<Cam"));
        assert!(html.contains("FAILED") && html.contains("Close it and retest."));
        let text = report().to_text();
        assert!(text.contains("[FAILED] Camera: the camera is in use"), "{text}");
        assert!(text.contains("Microphones: none"));
    }

    #[test]
    fn save_writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (json, html) = report().save(dir.path()).unwrap();
        assert!(std::fs::read_to_string(json).unwrap().contains("\"status\": \"failed\""));
        assert!(std::fs::read_to_string(html).unwrap().starts_with("<!doctype html>"));
    }
}
