//! The nftables ruleset that hands sync traffic to the daemon, rendered from
//! the config (`misp-warden nft`).
//!
//! The daemon is transparent: MISP dials its partner as usual and the kernel
//! delivers the connection to the listener instead, original destination
//! intact. Which connections are diverted is therefore a property of the
//! config, and hand-written rulesets drift from it (a new instance on port
//! 8443 that nobody added to the firewall simply bypasses the guard). So the
//! ruleset is derived from the same file the daemon reads:
//!
//! - **sync ports**: every port some instance, feed or allowlisted URL uses
//!   (and 443 for allowlisted domains). On a **gateway** — a box dedicated to
//!   MISP's link — every TCP connection it forwards to a sync port goes
//!   through the daemon, whoever dials it: a host that is no instance gets
//!   `unknown_source`, and MISP on an address nobody listed gets nowhere.
//!   Allowlisted sites are reached through the daemon, never around it.
//! - **instances and endpoints**: a **container host** runs other workloads
//!   too, so only the instances' own connections to sync ports and anyone's
//!   connection to an instance's `address . port` are diverted.
//! - everything else an instance sends through the box is refused, and so is
//!   a connection to a sync port when the daemon is down (fail closed: the
//!   TPROXY rule only matches while a listener exists).
//!
//! Forwarded traffic (`gateway`, `container-host`) is caught in prerouting.
//! MISP on the **same host** is caught in the output route hook (its
//! connections to endpoints), marked, and looped back by policy routing, with
//! the daemon's own account exempt so that its upstream connections leave
//! normally. The policy
//! routing itself (`fwmark 1 → table 100 → local`) is `nftables/routing.sh`.
//!
//! Everything here is pure: the caller resolves the daemon's uid.

use crate::config::Config;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// The firewall mark TPROXY'd packets carry; `routing.sh` routes it locally.
pub const MARK: u32 = 1;
/// The routing table `routing.sh` fills with the `local` default route.
pub const TABLE: u32 = 100;
/// The nftables table this ruleset owns (and replaces atomically on reload).
pub const NFT_TABLE: &str = "misp_warden";

/// Where MISP runs relative to the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// The appliance routes between MISP and the outside.
    Gateway,
    /// MISP runs in containers on this host, behind a bridge this host routes.
    ContainerHost,
    /// MISP runs on this host, beside the daemon.
    SameHost,
}

impl Topology {
    pub const NAMES: &'static str = "gateway, container-host or same-host";

    pub fn parse(name: &str) -> Option<Topology> {
        match name {
            "gateway" => Some(Topology::Gateway),
            "container-host" => Some(Topology::ContainerHost),
            "same-host" => Some(Topology::SameHost),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Topology::Gateway => "gateway",
            Topology::ContainerHost => "container-host",
            Topology::SameHost => "same-host",
        }
    }
}

/// How the ruleset is wanted.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub topology: Topology,
    /// NAT `redirect` instead of TPROXY, for kernels without TPROXY: the
    /// daemon then reads the original destination from conntrack.
    pub nat: bool,
    /// The daemon's uid; same-host exempts it. Ignored by the other topologies.
    pub daemon_uid: u32,
    /// The account name behind `daemon_uid`, for the comment.
    pub daemon_user: &'a str,
}

/// One address family's share of the ruleset.
struct Family {
    /// `ip` or `ip6`: the nft keyword for address matches and `tproxy … to`.
    keyword: &'static str,
    /// `ipv4` / `ipv6`, for `meta nfproto`.
    nfproto: &'static str,
    /// `v4` / `v6`: the suffix of this family's defines.
    suffix: &'static str,
    /// The listener the traffic goes to.
    listener: SocketAddr,
    sources: BTreeSet<IpAddr>,
    endpoints: BTreeSet<(IpAddr, u16)>,
}

impl Family {
    fn new(v6: bool, config: &Config) -> Result<Option<Family>, RenderError> {
        let instances: Vec<_> = config
            .instances
            .iter()
            .filter(|i| i.ip.is_ipv6() == v6)
            .collect();
        let Some(first) = instances.first() else {
            return Ok(None);
        };
        let family = if v6 { "IPv6" } else { "IPv4" };
        let listener = config
            .warden
            .listen
            .iter()
            .find(|l| l.is_ipv6() == v6)
            .copied()
            .ok_or_else(|| RenderError::NoListener {
                instance: first.id.clone(),
                ip: first.ip,
                family,
            })?;
        Ok(Some(Family {
            keyword: if v6 { "ip6" } else { "ip" },
            nfproto: if v6 { "ipv6" } else { "ipv4" },
            suffix: if v6 { "v6" } else { "v4" },
            listener,
            sources: instances.iter().map(|i| i.ip).collect(),
            endpoints: instances.iter().map(|i| (i.ip, i.port)).collect(),
        }))
    }

    /// `tproxy ip to :8888`, or with the listener's address when it is bound
    /// to one.
    fn tproxy(&self) -> String {
        let port = self.listener.port();
        match self.listener.ip() {
            ip if ip.is_unspecified() => format!("tproxy {} to :{port}", self.keyword),
            IpAddr::V4(ip) => format!("tproxy ip to {ip}:{port}"),
            IpAddr::V6(ip) => format!("tproxy ip6 to [{ip}]:{port}"),
        }
    }
}

/// Every destination port MISP syncs on: instances, feeds, allowlisted URLs,
/// and 443 for allowlisted domains (reached over TLS only).
fn sync_ports(config: &Config) -> BTreeSet<u16> {
    let mut ports: BTreeSet<u16> = config.instances.iter().map(|i| i.port).collect();
    ports.extend(config.feeds.iter().map(|f| f.port));
    ports.extend(config.allowlist.urls.iter().map(|u| u.port));
    if !config.allowlist.domains.is_empty() {
        ports.insert(443);
    }
    ports
}

fn set<T>(items: impl IntoIterator<Item = T>, show: impl Fn(T) -> String) -> String {
    let items: Vec<String> = items.into_iter().map(show).collect();
    format!("{{ {} }}", items.join(", "))
}

/// Why no ruleset can be rendered for a config.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The diverted traffic would have nowhere to go.
    #[error(
        "warden.listen: instance {instance} is {family} ({ip}) but no {family} listener is configured"
    )]
    NoListener {
        instance: String,
        ip: IpAddr,
        family: &'static str,
    },
}

/// Renders the ruleset for `config`. The error is one line naming the key.
pub fn render(config: &Config, options: Options<'_>) -> Result<String, RenderError> {
    let families: Vec<Family> = [Family::new(false, config)?, Family::new(true, config)?]
        .into_iter()
        .flatten()
        .collect();
    let ports = sync_ports(config);
    let topology = options.topology;
    let mut out = String::new();
    let w = &mut out;

    let _ = writeln!(w, "#!/usr/sbin/nft -f");
    let _ = writeln!(
        w,
        "# misp-warden, {} topology{}: rendered by `misp-warden nft` from the config.",
        topology.name(),
        if options.nat { ", NAT redirect" } else { "" }
    );
    let _ = writeln!(
        w,
        "# Render again after changing instances, ports or listeners; load with `nft -f`."
    );
    let about: &[&str] = match topology {
        Topology::Gateway => &[
            "# This box routes between MISP and the outside (net.ipv4.ip_forward=1,",
            "# net.ipv6.conf.all.forwarding=1) and is dedicated to that link: every TCP",
            "# connection it forwards to a sync port goes to misp-warden, whoever dials it.",
        ],
        Topology::ContainerHost => &[
            "# MISP runs in containers on this host, behind a bridge the host routes; other",
            "# workloads share it. The instances' connections to sync ports, and anyone's",
            "# connection to an instance's endpoint, go to misp-warden.",
        ],
        Topology::SameHost => &[
            "# MISP runs on this host beside misp-warden. Its connections to instance",
            "# endpoints are marked on the way out and looped back to the listener.",
        ],
    };
    for line in about {
        let _ = writeln!(w, "{line}");
    }
    if !options.nat {
        let _ = writeln!(
            w,
            "# TPROXY needs policy routing for the mark: `routing.sh up` (fwmark {MARK} -> table {TABLE})."
        );
    }
    let _ = writeln!(w);
    // Same-host reads only the endpoints; the forwarded topologies the rest.
    let forwarded = topology != Topology::SameHost;
    if forwarded {
        let _ = writeln!(
            w,
            "# Every port MISP syncs on (instances, feeds, allowlisted URLs; 443 for allowlisted domains)."
        );
        let _ = writeln!(w, "define sync_ports = {}", set(&ports, |p| p.to_string()));
    }
    for f in &families {
        let s = f.suffix;
        if forwarded {
            let _ = writeln!(w, "# The configured instances' {} addresses.", f.nfproto);
            let _ = writeln!(
                w,
                "define misp_{s} = {}",
                set(&f.sources, |ip| ip.to_string())
            );
        }
        if topology != Topology::Gateway {
            let _ = writeln!(
                w,
                "# The configured instances' {} sync endpoints, address . port.",
                f.nfproto
            );
            let _ = writeln!(
                w,
                "define endpoints_{s} = {}",
                set(&f.endpoints, |(ip, port)| format!("{ip} . {port}"))
            );
        }
    }
    if topology == Topology::SameHost {
        let _ = writeln!(
            w,
            "# The daemon's account ({}): its own upstream connections leave untouched.",
            options.daemon_user
        );
        let _ = writeln!(w, "define daemon_uid = {}", options.daemon_uid);
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "# Replace the table as one transaction: create it if absent, delete it, define it anew."
    );
    let _ = writeln!(w, "add table inet {NFT_TABLE}");
    let _ = writeln!(w, "delete table inet {NFT_TABLE}");
    let _ = writeln!(w, "table inet {NFT_TABLE} {{");
    match (topology, options.nat) {
        (Topology::SameHost, false) => same_host_tproxy(w, &families),
        (Topology::SameHost, true) => same_host_nat(w, &families),
        (_, nat) => {
            prerouting(w, topology, nat, &families);
            forward_chain(w, topology, &families);
        }
    }
    let _ = writeln!(w, "}}");
    Ok(out)
}

/// The matches that select what goes to the daemon, with a comment each.
/// A gateway is a box dedicated to MISP's link: every TCP connection it
/// forwards to a sync port is judged, whoever dials it (a host that is no
/// instance gets `unknown_source`), so no unlisted address of MISP's gets
/// around the guard. A container host carries other workloads too: only the
/// instances' own connections, and connections to their endpoints.
fn diverted(topology: Topology, f: &Family) -> Vec<(String, String)> {
    let (k, s, p) = (f.keyword, f.suffix, f.nfproto);
    if topology == Topology::Gateway {
        return vec![(
            format!("{p}: every forwarded connection to a sync port, whoever dials it."),
            format!("meta nfproto {p} tcp dport $sync_ports"),
        )];
    }
    vec![
        (
            format!("{p}: an instance dialling any sync port (allowlisted sites included)."),
            format!("{k} saddr $misp_{s} tcp dport $sync_ports"),
        ),
        (
            format!("{p}: anyone dialling an instance's sync endpoint."),
            format!("{k} daddr . tcp dport $endpoints_{s}"),
        ),
    ]
}

/// Gateway and container host: forwarded connections, caught in prerouting
/// and handed to the listener by TPROXY, or by NAT redirect (`nat`: the
/// daemon then reads the original destination from conntrack).
fn prerouting(w: &mut String, topology: Topology, nat: bool, families: &[Family]) {
    let _ = writeln!(w, "    chain prerouting {{");
    if nat {
        let _ = writeln!(
            w,
            "        type nat hook prerouting priority dstnat; policy accept;"
        );
    } else {
        let _ = writeln!(
            w,
            "        type filter hook prerouting priority mangle; policy accept;"
        );
        let _ = writeln!(
            w,
            "        # Later segments of connections the listener already owns: mark them so that"
        );
        let _ = writeln!(
            w,
            "        # policy routing (fwmark {MARK} -> table {TABLE}, routing.sh) delivers them locally."
        );
        let _ = writeln!(
            w,
            "        meta l4proto tcp socket transparent 1 meta mark set {MARK} accept"
        );
    }
    for f in families {
        let to = if nat {
            format!("redirect to :{}", f.listener.port())
        } else {
            format!("{} meta mark set {MARK} accept", f.tproxy())
        };
        for (comment, matches) in diverted(topology, f) {
            let _ = writeln!(w, "        # {comment}");
            let _ = writeln!(w, "        {matches} {to}");
        }
    }
    if !nat {
        let _ = writeln!(
            w,
            "        # With no listener bound the tproxy rules do not match; the forward chain refuses."
        );
    }
    let _ = writeln!(w, "    }}");
}

/// What is not diverted is refused: connections to sync ports while the
/// daemon is down (or of a family it has no listener for), and everything
/// else the instances send through the box.
fn forward_chain(w: &mut String, topology: Topology, families: &[Family]) {
    let _ = writeln!(w, "    chain forward {{");
    let _ = writeln!(
        w,
        "        type filter hook forward priority filter; policy accept;"
    );
    let _ = writeln!(
        w,
        "        # Replies of connections this box let through (e.g. someone else's session to MISP's UI)."
    );
    let _ = writeln!(w, "        ct state established,related accept");
    if topology == Topology::Gateway {
        let _ = writeln!(
            w,
            "        # A sync port is never reached around the daemon, over either family (a reset, so"
        );
        let _ = writeln!(w, "        # clients fail fast).");
        let _ = writeln!(
            w,
            "        tcp dport $sync_ports counter reject with tcp reset"
        );
    } else {
        for f in families {
            let (k, s) = (f.keyword, f.suffix);
            let _ = writeln!(
                w,
                "        # {}: an endpoint is never reached around the daemon (a reset: clients fail fast).",
                f.nfproto
            );
            let _ = writeln!(
                w,
                "        {k} daddr . tcp dport $endpoints_{s} counter reject with tcp reset"
            );
        }
    }
    for f in families {
        let (k, s) = (f.keyword, f.suffix);
        let _ = writeln!(
            w,
            "        # {}: nothing else leaves an instance through here: TCP reset, the rest (QUIC, DNS,",
            f.nfproto
        );
        let _ = writeln!(
            w,
            "        # ICMP) dropped. To let MISP use a resolver beyond this box, accept it first, e.g."
        );
        let _ = writeln!(
            w,
            "        #   {k} saddr $misp_{s} {k} daddr RESOLVER udp dport 53 accept"
        );
        let _ = writeln!(
            w,
            "        {k} saddr $misp_{s} meta l4proto tcp counter reject with tcp reset"
        );
        let _ = writeln!(w, "        {k} saddr $misp_{s} counter drop");
    }
    let _ = writeln!(w, "    }}");
}

/// Same host, TPROXY: mark in the output route hook (which re-routes the
/// packet through table 100, out of `lo` and back in), then TPROXY it as it
/// comes back in on `lo`.
fn same_host_tproxy(w: &mut String, families: &[Family]) {
    same_host_output(
        w,
        families,
        "type route hook output priority mangle",
        |_| format!("meta mark set {MARK}"),
    );
    let _ = writeln!(w, "    chain prerouting {{");
    let _ = writeln!(
        w,
        "        type filter hook prerouting priority mangle; policy accept;"
    );
    let _ = writeln!(
        w,
        "        # Later segments of connections the listener already owns."
    );
    let _ = writeln!(
        w,
        "        meta l4proto tcp socket transparent 1 meta mark set {MARK} accept"
    );
    for f in families {
        let _ = writeln!(
            w,
            "        # {}: marked by the output chain, back in on lo: to the listener.",
            f.nfproto
        );
        let _ = writeln!(
            w,
            "        iif lo meta mark {MARK} meta nfproto {} meta l4proto tcp {} accept",
            f.nfproto,
            f.tproxy()
        );
    }
    let _ = writeln!(
        w,
        "        # With no listener bound (daemon stopped) the tproxy rules do not match: drop what"
    );
    let _ = writeln!(
        w,
        "        # is left, explicitly (the kernel routes nothing on from lo either)."
    );
    let _ = writeln!(
        w,
        "        iif lo meta mark {MARK} meta l4proto tcp counter drop"
    );
    let _ = writeln!(w, "    }}");
}

/// Same host without TPROXY: NAT redirect in the output hook.
fn same_host_nat(w: &mut String, families: &[Family]) {
    same_host_output(w, families, "type nat hook output priority -100", |f| {
        format!("redirect to :{}", f.listener.port())
    });
}

/// The output chain of the same-host rulesets: the daemon's account exempt,
/// every other local process's connection to an endpoint diverted by
/// `action`.
fn same_host_output(
    w: &mut String,
    families: &[Family],
    hook: &str,
    action: impl Fn(&Family) -> String,
) {
    let _ = writeln!(w, "    chain output {{");
    let _ = writeln!(w, "        {hook}; policy accept;");
    let _ = writeln!(
        w,
        "        # The daemon's own connections upstream are not caught again."
    );
    let _ = writeln!(w, "        meta skuid $daemon_uid accept");
    for f in families {
        let (k, s) = (f.keyword, f.suffix);
        let _ = writeln!(
            w,
            "        # {}: MISP (any other local process) dialling an instance's sync endpoint.",
            f.nfproto
        );
        let _ = writeln!(
            w,
            "        {k} daddr . tcp dport $endpoints_{s} {}",
            action(f)
        );
    }
    let _ = writeln!(w, "    }}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(instances: &[(&str, &str, u16)], listen: &[&str]) -> Config {
        let mut json = serde_json::json!({
            "allowlist": {"urls": [], "domains": []},
            "compartments_rules": {"can_reach": {"c": ["c"]}},
            "instances": {},
            "warden": {"listen": listen}
        });
        for (id, ip, port) in instances {
            json["instances"][*id] = serde_json::json!({
                "ip": ip, "host": format!("{id}.example"), "port": port,
                "compartment_id": "c", "affiliation": "a",
                "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": []},
                "blocked_distribution_levels": [], "blocked_sharing_groups_uuids": [],
                "blocked_attribute_types": [], "blocked_attribute_categories": [],
                "blocked_object_types": []
            });
        }
        Config::from_json(&json.to_string()).expect("valid config")
    }

    fn options(topology: Topology) -> Options<'static> {
        Options {
            topology,
            nat: false,
            daemon_uid: 998,
            daemon_user: "misp-warden",
        }
    }

    #[test]
    fn sets_come_from_the_instances_and_the_listener() {
        let c = config(
            &[("a", "192.0.2.10", 443), ("b", "203.0.113.20", 8443)],
            &["0.0.0.0:8888"],
        );
        let r = render(&c, options(Topology::Gateway)).unwrap();
        assert!(r.contains("define sync_ports = { 443, 8443 }"), "{r}");
        assert!(r.contains("define misp_v4 = { 192.0.2.10, 203.0.113.20 }"));
        assert!(r.contains("meta nfproto ipv4 tcp dport $sync_ports tproxy ip to :8888"));
        assert!(!r.contains("ip6"), "no IPv6 rules without IPv6 instances");
        let r = render(&c, options(Topology::ContainerHost)).unwrap();
        assert!(r.contains("define endpoints_v4 = { 192.0.2.10 . 443, 203.0.113.20 . 8443 }"));
        assert!(r.contains("ip saddr $misp_v4 tcp dport $sync_ports tproxy ip to :8888"));
    }

    #[test]
    fn a_family_without_a_listener_is_named() {
        let c = config(&[("a", "2001:db8::1", 443)], &["0.0.0.0:8888"]);
        let e = render(&c, options(Topology::Gateway)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("warden.listen: instance a is IPv6"),
            "{e}"
        );
    }

    #[test]
    fn a_bound_listener_address_is_the_tproxy_target() {
        let c = config(&[("a", "2001:db8::1", 443)], &["[2001:db8::2]:8888"]);
        let r = render(&c, options(Topology::Gateway)).unwrap();
        assert!(r.contains("tproxy ip6 to [2001:db8::2]:8888"), "{r}");
    }

    #[test]
    fn same_host_exempts_the_daemon_and_has_no_forward_chain() {
        let c = config(&[("a", "192.0.2.10", 443)], &["0.0.0.0:8888"]);
        let r = render(&c, options(Topology::SameHost)).unwrap();
        assert!(r.contains("define daemon_uid = 998"));
        assert!(r.contains("meta skuid $daemon_uid accept"));
        assert!(!r.contains("chain forward"));
    }
}
