//! Two homes behind NAT routers and the internet between them, on this machine.
//!
//! The test process is the internet: a bridge with the public address
//! `100.a.b.1` (where duet-server and coturn listen). Each site is two network
//! namespaces, a router and a host:
//!
//! ```text
//!  host A 192.168.10.2 ── router A ─┐             ┌─ router B ── host B 192.168.20.2
//!              (MASQUERADE as .10)  └─ bridge .1 ─┘  (MASQUERADE as .20)
//! ```
//!
//! The routers translate with iptables' MASQUERADE, as home routers do: a host
//! reaches the internet from the router's public address (the same port when
//! it is free), and only answers to what it sent come back in. Needs root, `ip`
//! (iproute2) and `iptables`.

use std::sync::atomic::{AtomicU32, Ordering};

use duet_testkit::Coturn;

use super::netlab::run;
use super::{Live, TestServer, server_with};

/// One home: a host behind its router.
pub struct Site {
    pub router: String,
    pub host: String,
    /// The host's own address, which only its router knows.
    pub lan_ip: String,
    /// The router's address on the host's side.
    pub gateway: String,
    /// The router's public address, which the host's packets leave from.
    pub public_ip: String,
}

pub struct NatLab {
    /// The internet's own address: duet-server and coturn listen here.
    pub public: String,
    pub a: Site,
    pub b: Site,
    bridge: String,
}

/// `program args…` inside namespace `ns`.
fn run_in(ns: &str, program: &str, args: &[&str]) -> Result<(), String> {
    let mut full = vec!["netns", "exec", ns, program];
    full.extend_from_slice(args);
    run("ip", &full)
}

impl NatLab {
    /// Builds both sites. With `block_direct`, each router drops what its host
    /// sends to the other router, as networks that forbid peer-to-peer UDP do:
    /// only a relay on the internet connects the two.
    pub fn start(block_direct: bool) -> Result<NatLab, String> {
        static LABS: AtomicU32 = AtomicU32::new(0);
        let id = std::process::id() % 10_000 * 10 + LABS.fetch_add(1, Ordering::Relaxed) % 10;
        let net = format!("100.{}.{}", 64 + (id / 256) % 64, id % 256);
        let lab = NatLab {
            public: format!("{net}.1"),
            a: site(id, 'a', &net, 10),
            b: site(id, 'b', &net, 20),
            bridge: format!("dnp{id}"),
        };
        run("ip", &["link", "add", &lab.bridge, "type", "bridge"])?;
        run("ip", &["addr", "add", &format!("{}/24", lab.public), "dev", &lab.bridge])?;
        run("ip", &["link", "set", &lab.bridge, "up"])?;
        for (site, n, other) in [(&lab.a, 'a', &lab.b), (&lab.b, 'b', &lab.a)] {
            lab.build(site, &format!("dn{id}{n}"))?;
            if block_direct {
                run_in(&site.router, "iptables", &["-A", "FORWARD", "-d", &other.public_ip, "-j", "DROP"])?;
            }
        }
        Ok(lab)
    }

    fn build(&self, site: &Site, uplink: &str) -> Result<(), String> {
        let (router, host) = (site.router.as_str(), site.host.as_str());
        run("ip", &["netns", "add", router])?;
        run("ip", &["netns", "add", host])?;
        // The router's uplink to the internet's bridge, and its LAN to the host.
        run("ip", &["link", "add", uplink, "type", "veth", "peer", "name", "wan", "netns", router])?;
        run("ip", &["link", "set", uplink, "master", &self.bridge, "up"])?;
        run("ip", &["-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", host])?;
        let gateway = &site.gateway;
        for (ns, dev, address) in [
            (router, "wan", format!("{}/24", site.public_ip)),
            (router, "lan", format!("{gateway}/24")),
            (host, "eth0", format!("{}/24", site.lan_ip)),
        ] {
            run("ip", &["-n", ns, "addr", "add", &address, "dev", dev])?;
            run("ip", &["-n", ns, "link", "set", dev, "up"])?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        run("ip", &["-n", host, "route", "add", "default", "via", gateway])?;
        run_in(router, "sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        run_in(router, "iptables", &["-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"])?;
        // A home router's firewall: nothing from the internet reaches the router
        // itself. Dropped here, such a packet leaves no connection-tracking entry
        // behind; without the rule, a peer's check that arrives before the host's
        // own first packet would hold the port the host's mapping needs, and the
        // router would map the host to another port, as a symmetric NAT does.
        run_in(router, "iptables", &["-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"])
    }

    /// The lab for a test, or `None` (the test is skipped) where it cannot be
    /// built — except under CI, where that fails the test.
    pub fn for_test(block_direct: bool) -> Option<NatLab> {
        match NatLab::start(block_direct) {
            Ok(lab) => Some(lab),
            Err(why) => {
                assert!(std::env::var("CI").is_err(), "CI must be able to build the NAT lab: {why}");
                eprintln!("skipped: cannot build the NAT lab (needs root, iproute2 and iptables): {why}");
                None
            }
        }
    }

    /// `program` as a command run on `site`'s host.
    pub fn command_on(&self, site: &Site, program: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("ip");
        command.args(["netns", "exec", &site.host, program]);
        command
    }
}

fn site(id: u32, name: char, net: &str, n: u8) -> Site {
    Site {
        router: format!("duet-nat-{id}-r{name}"),
        host: format!("duet-nat-{id}-h{name}"),
        lan_ip: format!("192.168.{n}.2"),
        gateway: format!("192.168.{n}.1"),
        public_ip: format!("{net}.{n}"),
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        // A namespace takes its ends of the veth pairs with it.
        for site in [&self.a, &self.b] {
            let _ = run("ip", &["netns", "del", &site.host]);
            let _ = run("ip", &["netns", "del", &site.router]);
        }
        let _ = run("ip", &["link", "del", &self.bridge]);
    }
}

/// The two homes, and duet-server on the internet between them handing out a
/// real coturn there as a STUN server, and as a TURN relay too `with_turn`.
pub struct Homes {
    pub lab: NatLab,
    pub coturn: Coturn,
    pub server: TestServer,
}

impl Homes {
    /// The homes (`block_direct` as for [`NatLab::start`]), or `None` where a
    /// test skips (no root, iptables or coturn outside CI).
    pub async fn start(block_direct: bool, with_turn: bool) -> Option<Homes> {
        let lab = NatLab::for_test(block_direct)?;
        let coturn = Coturn::start_on(&lab.public)?;
        let server = server_with(&lab.public, |config| {
            config.ice.stun_urls = vec![coturn.stun_url()];
            if with_turn {
                config.ice.turn_urls = vec![coturn.url("udp")];
                config.ice.turn_secret = coturn.secret.clone();
            }
        })
        .await;
        Some(Homes { lab, coturn, server })
    }

    /// `duet-cli` as Bob on host B with `bob_args`, signed in, then as Alice on
    /// host A with `alice_args`: (Alice, Bob).
    pub async fn dial(&self, alice_args: &[&str], bob_args: &[&str]) -> (Live, Live) {
        let (lab, server) = (&self.lab, &self.server);
        let at = |site| lab.command_on(site, env!("CARGO_BIN_EXE_duet-cli"));
        let mut bob = server.live_at(at(&lab.b), &lab.public, &lab.b.lan_ip, "bob", bob_args);
        bob.wait_for("bob online behind his router", |l| l["state"] == "prepared").await;
        let alice = server.live_at(at(&lab.a), &lab.public, &lab.a.lan_ip, "alice", alice_args);
        (alice, bob)
    }
}
