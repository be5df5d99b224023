//! A two-host network on this machine with a bad link between them.
//!
//! The test process stays in its own namespace ("host A", 10.77.1.2); a fresh
//! network namespace is "host B" (10.77.2.2). The only path between them is a
//! pair of TUN devices whose packets this process forwards, dropping and
//! delaying them as asked — what `tc netem` would do, done in user space
//! because the kernels this runs on may lack `sch_netem`. Needs root and `ip`
//! (iproute2).

#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const HOST_A: &str = "10.77.1.2";
pub const HOST_B: &str = "10.77.2.2";

/// How the link between the hosts misbehaves, one way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairment {
    /// Share of packets dropped, 0–1.
    pub loss: f64,
    /// Added one-way delay.
    pub delay: Duration,
    /// Each packet's delay varies by up to this either way (uniformly), without
    /// reordering: a packet never leaves before the one ahead of it.
    pub jitter: Duration,
    /// A bottleneck: packets leave at this rate (bits/s) through a queue that
    /// holds `QUEUE_LIMIT` of sending time; what does not fit is dropped.
    pub rate_bps: Option<u64>,
}

/// The bottleneck's buffer, in time at its rate (a router's queue).
pub const QUEUE_LIMIT: Duration = Duration::from_millis(200);

pub struct NetLab {
    pub namespace: String,
    stop: Arc<AtomicBool>,
    /// Packets forwarded and dropped, both ways.
    pub forwarded: Arc<AtomicU64>,
    pub dropped: Arc<AtomicU64>,
    /// Packets the bottleneck's full queue dropped, both ways.
    pub overflowed: Arc<AtomicU64>,
    /// While set, the link carries nothing either way (a blackout).
    blackout: Arc<AtomicBool>,
    tun_b: String,
}

/// Runs `program args…`; what it said on failure.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args)
}

/// Opens a new TUN device `name` (IP packets, no extra header).
fn open_tun(name: &str) -> Result<File, String> {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    #[repr(C)]
    struct IfReq {
        name: [u8; libc::IFNAMSIZ],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    let file = File::options().read(true).write(true).open("/dev/net/tun").map_err(|e| format!("/dev/net/tun: {e}"))?;
    let mut request =
        IfReq { name: [0; libc::IFNAMSIZ], flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short, _pad: [0; 22] };
    request.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `IfReq` lays out
    // (name, then the flags at the start of the union, padded to the union's size).
    let result = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut request) };
    if result < 0 {
        return Err(format!("TUNSETIFF {name}: {}", std::io::Error::last_os_error()));
    }
    Ok(file)
}

impl NetLab {
    /// Sets the network up with the same impairment both ways, or says why it
    /// cannot be (no root, no `ip`, no TUN).
    pub fn start(impairment: Impairment) -> Result<NetLab, String> {
        NetLab::start_each_way(impairment, impairment)
    }

    /// Sets the network up with `a_to_b` on packets from host A to host B and
    /// `b_to_a` on those coming back.
    pub fn start_each_way(a_to_b: Impairment, b_to_a: Impairment) -> Result<NetLab, String> {
        static LABS: AtomicU64 = AtomicU64::new(0);
        let id = u64::from(std::process::id() % 10_000) * 10 + LABS.fetch_add(1, Ordering::Relaxed) % 10;
        let namespace = format!("duet-b-{id}");
        let (tun_a, tun_b) = (format!("duta{id}"), format!("dutb{id}"));
        ip(&["netns", "add", &namespace])?;
        let lab = NetLab {
            namespace: namespace.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            forwarded: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
            overflowed: Arc::new(AtomicU64::new(0)),
            blackout: Arc::new(AtomicBool::new(false)),
            tun_b: tun_b.clone(),
        };
        let a = open_tun(&tun_a)?;
        let b = open_tun(&tun_b)?;
        ip(&["link", "set", &tun_b, "netns", &namespace])?;
        ip(&["addr", "add", HOST_A, "peer", HOST_B, "dev", &tun_a])?;
        ip(&["link", "set", &tun_a, "up"])?;
        let in_b = |args: &[&str]| {
            let mut full = vec!["netns", "exec", namespace.as_str(), "ip"];
            full.extend_from_slice(args);
            ip(&full)
        };
        in_b(&["link", "set", "lo", "up"])?;
        in_b(&["addr", "add", HOST_B, "peer", HOST_A, "dev", &tun_b])?;
        in_b(&["link", "set", &tun_b, "up"])?;
        let (a_out, b_out) = (a.try_clone().map_err(|e| e.to_string())?, b.try_clone().map_err(|e| e.to_string())?);
        lab.forward(a, b_out, a_to_b, 1);
        lab.forward(b, a_out, b_to_a, 2);
        Ok(lab)
    }

    /// The network for a test, or `None` (the test is skipped) where it cannot
    /// be built — except under CI, where that fails the test.
    pub fn for_test(a_to_b: Impairment, b_to_a: Impairment) -> Option<NetLab> {
        match NetLab::start_each_way(a_to_b, b_to_a) {
            Ok(lab) => Some(lab),
            Err(why) => {
                assert!(std::env::var("CI").is_err(), "CI must be able to build the test network: {why}");
                eprintln!("skipped: cannot build the test network (needs root and iproute2): {why}");
                None
            }
        }
    }

    /// Moves packets from `from` to `to`, dropping, queueing and delaying them.
    /// The drops and delays follow a fixed pseudo-random sequence, so every run
    /// loses alike. One thread delivers them in order, each at its time or right
    /// after the one ahead of it.
    fn forward(&self, mut from: File, mut to: File, impairment: Impairment, seed: u64) {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let (stop, forwarded, dropped) = (self.stop.clone(), self.forwarded.clone(), self.dropped.clone());
        let (overflowed, blackout) = (self.overflowed.clone(), self.blackout.clone());
        std::thread::spawn(move || {
            // When the bottleneck finishes sending what it holds.
            let mut busy_until = Instant::now();
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
            // xorshift64*: uniform enough for a loss rate and a jitter, in [0, 1).
            let mut roll = move || {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut buf = vec![0u8; 65_536];
            while !stop.load(Ordering::Relaxed) {
                let Ok(n) = from.read(&mut buf) else { break };
                if roll() < impairment.loss || blackout.load(Ordering::Relaxed) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let mut leaves = Instant::now();
                if let Some(rate) = impairment.rate_bps {
                    let start = busy_until.max(leaves);
                    if start > leaves + QUEUE_LIMIT {
                        overflowed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    busy_until = start + Duration::from_secs_f64((n * 8) as f64 / rate as f64);
                    leaves = busy_until;
                }
                let delay = impairment.delay.as_secs_f64() + impairment.jitter.as_secs_f64() * (2.0 * roll() - 1.0);
                if tx.send((leaves + Duration::from_secs_f64(delay.max(0.0)), buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            while let Ok((at, packet)) = rx.recv() {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                if to.write_all(&packet).is_err() {
                    break;
                }
                forwarded.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    /// Cuts the link both ways (`true`) or brings it back.
    pub fn set_blackout(&self, on: bool) {
        self.blackout.store(on, Ordering::Relaxed);
    }

    /// Host B moves from `from` to `to` (another network), `gap` apart: the old
    /// address goes, and after `gap` the new one comes, routed from host A too.
    pub fn move_b(&self, from: &str, to: &str, gap: Duration) -> Result<(), String> {
        let in_b = |args: &[&str]| {
            let mut full = vec!["netns", "exec", self.namespace.as_str(), "ip"];
            full.extend_from_slice(args);
            ip(&full)
        };
        in_b(&["addr", "del", from, "peer", HOST_A, "dev", &self.tun_b])?;
        std::thread::sleep(gap);
        in_b(&["addr", "add", to, "peer", HOST_A, "dev", &self.tun_b])?;
        Ok(())
    }

    /// Host A's route to `address` in host B, through the link.
    pub fn route_to_b(&self, address: &str) -> Result<(), String> {
        let tun_a = self.tun_b.replacen("dutb", "duta", 1);
        ip(&["route", "replace", address, "dev", &tun_a])
    }

    /// `program` as a command run inside host B.
    pub fn command_in_b(&self, program: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Deleting the namespace removes host B's TUN device; host A's goes with our file handle.
        let _ = ip(&["netns", "del", &self.namespace]);
    }
}
